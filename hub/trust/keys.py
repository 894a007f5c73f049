"""The hub's own signing key, from the key directory of the settings."""

from __future__ import annotations

from cryptography import x509

from adapters.pki import PrivateKey, load_cert, load_key
from hub.errors import HubError
from hub.settings import Settings


def hub_signing_key(settings: Settings) -> tuple[PrivateKey, x509.Certificate]:
    key_path, cert_path = settings.keys / "hub.key", settings.keys / "hub.pem"
    if not (key_path.exists() and cert_path.exists()):
        raise HubError(f"no hub key in {settings.keys}: run 'thads-hub pki init'", code="DEPENDENCY_UNAVAILABLE",
                       rule="hub_key")
    return load_key(key_path), load_cert(cert_path)
