"""The inbound side of the hub, built once per API process from its Services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from adapters.envelope import EnvelopeSigner, EnvelopeVerifier
from adapters.jws_envelope import JwsSigner
from adapters.trust_store import TrustStore
from hub.audit.recorder import ExchangeRecorder
from hub.audit.wiring import message_log
from hub.bootstrap import Services
from hub.inbound.bank import BankDesk
from hub.inbound.judgments import JudgmentDesk
from hub.inbound.memory import MessageMemory
from hub.inbound.procuracy import ProcuracyDesk
from hub.inbound.reception import Reception
from hub.inbound.routing import RoutingRules
from hub.trust.keys import hub_signing_key


@dataclass
class InboundService:
    reception: Reception
    recorder: ExchangeRecorder
    judgments: JudgmentDesk
    procuracy: ProcuracyDesk
    banks: BankDesk
    verifier: EnvelopeVerifier


def build_inbound(services: Services) -> InboundService:
    settings = services.settings
    key, cert = hub_signing_key(settings)
    skew = dt.timedelta(seconds=settings.clock_skew_seconds)
    verifier = EnvelopeVerifier(TrustStore.load(settings.keys), clock_skew=skew)
    signer = EnvelopeSigner(key, cert)
    reception = Reception(services.db, verifier, MessageMemory(services.redis, settings.redis_key_prefix, skew),
                          signer, JwsSigner(key, cert))
    recorder = ExchangeRecorder(message_log(settings, services.db))
    db, connectors = services.db, services.connectors
    return InboundService(reception=reception, recorder=recorder, verifier=verifier,
                          judgments=JudgmentDesk(reception, db, recorder, RoutingRules.load(), connectors),
                          procuracy=ProcuracyDesk(reception, db, recorder, connectors),
                          banks=BankDesk(reception, db, recorder, connectors, signer))
