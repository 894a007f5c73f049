"""The trust store: which certificates may sign for which agency. Never the system CA store.

A certificate is accepted for agency A only if it chains to a configured CA, is valid now, is not on
the revocation list, is a signing (non-CA) certificate, names A in its subject OU (the Conventions'
only binding rule), and is pinned for A. Pinning allows two certificates for one agency at once, which
is how keys rotate without an outage.

Layout of the key directory:
    ca.pem                      the sandbox root CA (more CAs: trust/ca/*.pem)
    trust/<agency>/*.pem        certificates pinned for that agency
    revoked.txt                 revoked serial numbers, hex, one per line ('#' comments)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from adapters.pki import agency_of, fingerprint, load_certs
from adapters.refusal import Refusal


@dataclass
class TrustStore:
    cas: list[x509.Certificate]
    pinned: dict[str, dict[str, x509.Certificate]] = field(default_factory=dict)  # agency -> fp -> cert
    revoked_serials: frozenset[int] = frozenset()
    # Certificate (by DER) -> the CA that signed it. The CA signature check is the costliest part of a
    # trust decision and its answer never changes for a given pair; validity times are still checked
    # on every call.
    _issuers: dict[bytes, x509.Certificate] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, key_dir: Path) -> TrustStore:
        cas: list[x509.Certificate] = []
        if (key_dir / "ca.pem").exists():
            cas += load_certs(key_dir / "ca.pem")
        for extra in sorted((key_dir / "trust" / "ca").glob("*.pem")):
            cas += load_certs(extra)
        if not cas:
            raise Refusal(f"no CA certificate in {key_dir} (run 'thads-hub pki init')", code="CERT_UNTRUSTED",
                          rule="no_ca")
        pinned: dict[str, dict[str, x509.Certificate]] = {}
        trust_dir = key_dir / "trust"
        if trust_dir.is_dir():
            for agency_dir in sorted(p for p in trust_dir.iterdir() if p.is_dir() and p.name != "ca"):
                for pem in sorted(agency_dir.glob("*.pem")):
                    for cert in load_certs(pem):
                        pinned.setdefault(agency_dir.name, {})[fingerprint(cert)] = cert
        revoked: set[int] = set()
        rl = key_dir / "revoked.txt"
        if rl.exists():
            for line in rl.read_text().splitlines():
                line = line.split("#", 1)[0].strip()
                if line:
                    revoked.add(int(line, 16))
        return cls(cas=cas, pinned=pinned, revoked_serials=frozenset(revoked))

    def pin(self, agency: str, cert: x509.Certificate) -> None:
        self.pinned.setdefault(agency, {})[fingerprint(cert)] = cert

    def certificates_for(self, agency: str) -> list[x509.Certificate]:
        return list(self.pinned.get(agency, {}).values())

    def check(self, cert: x509.Certificate, agency: str, at: dt.datetime | None = None) -> None:
        """Refuse ``cert`` as a signer for ``agency`` at time ``at`` (default now), with a precise code."""
        at = at or dt.datetime.now(dt.UTC)
        issuer = self._issuer_of(cert, at)
        if issuer is None:
            raise Refusal("the signing certificate does not chain to a trusted CA", code="CERT_UNTRUSTED",
                          rule="chain")
        if at < cert.not_valid_before_utc:
            raise Refusal("the signing certificate is not yet valid", code="CERT_EXPIRED", rule="not_yet_valid")
        if at > cert.not_valid_after_utc:
            raise Refusal("the signing certificate has expired", code="CERT_EXPIRED", rule="expired")
        if cert.serial_number in self.revoked_serials:
            raise Refusal("the signing certificate is revoked", code="CERT_REVOKED", rule="revocation_list")
        if not _is_signing_cert(cert):
            raise Refusal("the certificate is not a signing certificate (key usage / CA flag)",
                          code="CERT_UNTRUSTED", rule="key_usage")
        owner = agency_of(cert)
        if owner != agency:
            raise Refusal(f"a certificate of {owner!r} cannot sign for {agency!r}", code="CERT_WRONG_AGENCY",
                          rule="subject_ou", certificate_agency=owner, claimed_agency=agency)
        if fingerprint(cert) not in self.pinned.get(agency, {}):
            raise Refusal(f"the certificate is not pinned for {agency!r}", code="CERT_UNTRUSTED", rule="not_pinned")

    def _issuer_of(self, cert: x509.Certificate, at: dt.datetime) -> x509.Certificate | None:
        der = cert.public_bytes(serialization.Encoding.DER)
        known = self._issuers.get(der)
        if known is not None:
            return known if known.not_valid_before_utc <= at <= known.not_valid_after_utc else None
        for ca in self.cas:
            if ca.subject != cert.issuer or not (ca.not_valid_before_utc <= at <= ca.not_valid_after_utc):
                continue
            try:
                cert.verify_directly_issued_by(ca)
            except (ValueError, TypeError, InvalidSignature):
                continue
            if len(self._issuers) < 10_000:
                self._issuers[der] = ca
            return ca
        return None


def _is_signing_cert(cert: x509.Certificate) -> bool:
    try:
        basic = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return not basic.ca and usage.digital_signature
