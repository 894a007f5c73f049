"""One desk per kind of pushed document: the reception pipeline, the desk's own work, one answer, and
one message-log exchange for all of it (refused or not).

A desk names the intake capability it needs from the sender's connector, the schema check it hands
the reception, and ``take``: the work on a verified arrival (map the signed element, store it
idempotently), run in a thread, returning the document the answer carries.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from lxml import etree
from redis.exceptions import RedisError
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from adapters.refusal import Refusal
from hub.audit.recorder import Exchange, ExchangeRecorder
from hub.errors import AgencyError, HubError
from hub.inbound.acks import ack_document
from hub.inbound.intake_store import remember_message, retrying
from hub.inbound.reception import XML_MEDIA_TYPE, Arrival, Reception, Refused, Reply, Route, blind_answer
from hub.store.database import Database


def intake_capability(connectors: Any, agency: str, capability: type) -> Any:
    """The connector of ``agency`` if it offers ``capability``; the hub cannot take documents in otherwise."""
    connector = (connectors.connectors.get(agency) if connectors is not None else None)
    if connector is None or not isinstance(connector, capability):
        raise HubError(f"documents from {agency} cannot be taken in: no connector with {capability.__name__} is "
                       "configured (THADS_AGENCIES_FILE)", code="DEPENDENCY_UNAVAILABLE", rule="intake_capability")
    return connector


# The store or Redis away: the sender is told to try again later (a Receiver fault, 503), never a bug.
_DEPENDENCIES = (RedisError, OperationalError)


def unavailable(exc: Exception) -> HubError:
    return HubError(f"the hub cannot take documents in right now ({type(exc).__name__}); send again later",
                    code="DEPENDENCY_UNAVAILABLE", rule="store_or_redis")


def contract_refusal(exc: Refusal) -> Refusal:
    """A mapping refusal (the document breaks what its schema cannot say) is the sender's fault."""
    if isinstance(exc, AgencyError):
        return Refusal(exc.detail, code="SCHEMA_INVALID", rule=exc.rule or "contract")
    return exc


class Desk(ABC):
    capability: type
    path: str  # the REST path, the problem's instance

    def __init__(self, reception: Reception, db: Database, recorder: ExchangeRecorder, connectors: Any) -> None:
        self.reception = reception
        self.db = db
        self.recorder = recorder
        self.connectors = connectors

    @abstractmethod
    def check(self, connector: Any) -> Callable[[etree._Element], None]:
        """The connector's schema check of the business document (run before the signature)."""

    @abstractmethod
    def take(self, connector: Any, arrival: Arrival, fresh: bool, context: dict[str, str]) -> etree._Element:
        """The work on a verified arrival, in a thread: the document the answer carries."""

    async def submit(self, data: bytes, route: Route, soap_version: str | None = None,
                     context: dict[str, str] | None = None) -> Reply:
        operation = route.operations[0] if len(route.operations) == 1 else "Push"
        async with self.recorder.exchange_async("inbound", route.agency, operation, service=route.service) as ex:
            try:
                connector = intake_capability(self.connectors, route.agency, self.capability)
                arrival, fresh = await self.reception.receive(data, route, self.check(connector), soap_version)
            except _DEPENDENCIES as exc:
                ex.request(data)
                refused = Refused(unavailable(exc), blind_answer(data, route))
                return self._refusal(ex, refused, data, route, soap_version)
            except HubError as exc:
                ex.request(data)
                return self._refusal(ex, Refused(exc, blind_answer(data, route)), data, route, soap_version)
            except Refused as refused:
                ex.request(data)
                return self._refusal(ex, refused, data, route, soap_version)
            ex.operation = arrival.verified.header.operation  # a route serving several names the one it got
            ex.request(data, arrival.verified.header, arrival.verified.payload_hash)
            try:
                reply = await asyncio.to_thread(self._take_and_answer, connector, arrival, fresh, context or {})
            except _DEPENDENCIES as exc:
                return self._refusal(ex, Refused(unavailable(exc), arrival.to), data, route,
                                     arrival.soap_version or soap_version)
            except Refusal as exc:
                return self._refusal(ex, Refused(contract_refusal(exc), arrival.to), data, route,
                                     arrival.soap_version or soap_version)
            ex.response(reply.body, None)
            return reply

    async def refuse(self, refusal: Refusal, route: Route, soap_version: str | None = None) -> Reply:
        """A message refused before it could be read whole (over the size limit)."""
        async with self.recorder.exchange_async("inbound", route.agency, route.operations[0],
                                                service=route.service) as ex:
            ex.request(None)
            return self._refusal(ex, Refused(refusal, blind_answer(b"", route)), b"", route, soap_version)

    def _take_and_answer(self, connector: Any, arrival: Arrival, fresh: bool, context: dict[str, str]) -> Reply:
        # One hop to a worker thread for both: each hop is a hand-over of the GIL and a wake-up of the loop.
        return self._answer(arrival, self.take(connector, arrival, fresh, context))

    def _answer(self, arrival: Arrival, body: etree._Element) -> Reply:
        if arrival.soap_version:
            return self.reception.soap_reply(arrival.soap_version, arrival.to, body)
        return Reply(200, self.reception.signed_bytes(arrival.to, body), XML_MEDIA_TYPE)

    def _refusal(self, ex: Exchange, refused: Refused, data: bytes, route: Route, soap_version: str | None) -> Reply:
        if route.channel == "soap":
            reply = self.reception.soap_fault(soap_version or "1.2", refused, data)
        else:
            reply = self.reception.problem(refused, self.path)
        ex.response(reply.body, None, outcome="refused")
        ex.records[-1].error_code = refused.refusal.code
        return reply


class RecordDesk(Desk):
    """A desk whose documents are stored once by their own key (an edXML DocumentId, a bank's event id) and
    answered with ``ack:Acknowledgment``: accepted the first time, duplicate after, with the record's id."""

    kind: str  # inbound_messages.kind

    @abstractmethod
    def read(self, connector: Any, document: etree._Element) -> Any:
        """The verified document in canonical terms (the connector's mapping)."""

    @abstractmethod
    def store(self, conn: Connection, read: Any, arrival: Arrival, context: dict[str, str]) -> tuple[str, bool]:
        """Store it unless its key is known; (record id, whether it was already there)."""

    def take(self, connector: Any, arrival: Arrival, fresh: bool, context: dict[str, str]) -> etree._Element:
        v = arrival.verified
        if arrival.seen is not None:
            return ack_document("duplicate", received_at=arrival.received_at, received_hash=v.envelope_hash,
                                receipt_id=arrival.seen.record_id)
        read = self.read(connector, v.body)

        def work(conn: Connection) -> tuple[str, bool]:
            record_id, duplicate = self.store(conn, read, arrival, context)
            remember_message(conn, v.signer, v.header.message_id, self.kind, v.envelope_hash, record_id,
                             arrival.received_at)
            return record_id, duplicate

        record_id, duplicate = retrying(self.db, work)
        return ack_document("duplicate" if duplicate else "accepted", received_at=arrival.received_at,
                            received_hash=v.envelope_hash, receipt_id=record_id)
