"""Building the configured connectors: the composition root for agency access.

One connector per agency in THADS_AGENCIES_FILE, each with its guard (Redis-shared rate limit and
breaker), the hub's signing keys, the trust store and the message-log recorder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.envelope import EnvelopeSigner
from adapters.jws_envelope import JwsSigner
from adapters.trust_store import TrustStore
from hub.agencies import load_agencies
from hub.audit.recorder import ExchangeRecorder
from hub.audit.wiring import message_log
from hub.connector import Connector, ConnectorContext
from hub.connector_registry import connector_class, discover
from hub.resilience.guard import AgencyGuard
from hub.settings import Settings
from hub.store.database import Database
from hub.trust.keys import hub_signing_key


@dataclass
class ConnectorSet:
    connectors: dict[str, Connector]

    def with_capability(self, capability: type) -> list[Connector]:
        return [c for c in self.connectors.values() if isinstance(c, capability)]

    async def start(self) -> None:
        for c in self.connectors.values():
            await c.start()

    async def aclose(self) -> None:
        for c in self.connectors.values():
            await c.aclose()


def build_connectors(settings: Settings, redis: Any, db: Database | None = None) -> ConnectorSet:
    agencies = load_agencies(settings.agencies)
    if not agencies:
        return ConnectorSet({})
    available = discover()
    key, cert = hub_signing_key(settings)
    trust = TrustStore.load(settings.keys)
    log = message_log(settings, db)
    log.body_policy = {name: cfg.log_body for name, cfg in agencies.items()}
    recorder = ExchangeRecorder(log)
    xml_signer, jws_signer = EnvelopeSigner(key, cert), JwsSigner(key, cert)
    connectors: dict[str, Connector] = {}
    for agency_id, config in agencies.items():
        cls = connector_class(agency_id, available)
        ctx = ConnectorContext(agency_id=agency_id, config=config, trust=trust, xml_signer=xml_signer,
                               jws_signer=jws_signer, recorder=recorder,
                               guard=AgencyGuard(agency_id, config, redis, settings.redis_key_prefix))
        connectors[agency_id] = cls(ctx)
    return ConnectorSet(connectors)
