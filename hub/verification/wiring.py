"""The verification service over a set of started connectors: one recipe for the API and the workers."""

from __future__ import annotations

from adapters.jws_envelope import JwsSigner
from hub.audit.subjects import SubjectIndex
from hub.audit.wiring import message_log
from hub.bootstrap import Services
from hub.connectors_runtime import ConnectorSet
from hub.errors import HubError
from hub.trust.keys import hub_signing_key
from hub.verification.service import VerificationService


def verification_service(services: Services, connectors: ConnectorSet) -> VerificationService:
    settings = services.settings
    try:
        key, cert = hub_signing_key(settings)
        webhook_signer: JwsSigner | None = JwsSigner(key, cert)
    except HubError:  # no hub key yet: verifications still run, callbacks go unsigned
        webhook_signer = None
    return VerificationService(services.db, connectors, message_log(settings, services.db),
                               SubjectIndex.from_key_dir(settings.keys), webhook_signer)
