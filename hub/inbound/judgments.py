"""SubmitJudgment: a court pushes a judgment (SOAP at /soap/court, or the same envelope over REST at
/v1/inbound/judgments), the hub takes it in and answers the court's signed receipt in the same response.

After the reception pipeline: the court connector (``JudgmentIntake``) maps only the verified ``ba:BanAn``;
the intake is stored idempotently by (court, number); the answer is ``ba:BienNhanBanAn`` in a hub-signed
envelope, DA_TIEP_NHAN the first time and TRUNG_LAP (with the first MaTiepNhan and time) after. Every
exchange, refused or not, is one inbound entry pair in the message log.
"""

from __future__ import annotations

import asyncio
from typing import Any

from lxml import etree

from adapters.refusal import Refusal
from hub.audit.recorder import Exchange, ExchangeRecorder
from hub.connector import JudgmentIntake
from hub.errors import AgencyError, HubError
from hub.inbound.intake_store import TakenIn, first_answer, take_in
from hub.inbound.reception import XML_MEDIA_TYPE, Arrival, Reception, Refused, Reply, Route, blind_answer
from hub.inbound.routing import RoutingRules
from hub.model.intake import IntakeSource
from hub.model.judgment import Judgment
from hub.store.database import Database

AGENCY = "court"
SERVICE = "judgments"
OPERATION = "SubmitJudgment"
SOAP_ROUTE = Route(AGENCY, SERVICE, (OPERATION,), "soap")
REST_ROUTE = Route(AGENCY, SERVICE, (OPERATION,), "rest")


def intake_capability(connectors: Any, agency: str, capability: type) -> Any:
    """The connector of ``agency`` if it offers ``capability``; the hub cannot take documents in otherwise."""
    connector = (connectors.connectors.get(agency) if connectors is not None else None)
    if connector is None or not isinstance(connector, capability):
        raise HubError(f"documents from {agency} cannot be taken in: no connector with {capability.__name__} is "
                       "configured (THADS_AGENCIES_FILE)", code="DEPENDENCY_UNAVAILABLE", rule="intake_capability")
    return connector


def contract_refusal(exc: Refusal) -> Refusal:
    """A mapping refusal (the document breaks what its schema cannot say) as the sender's fault."""
    if isinstance(exc, AgencyError):
        return Refusal(exc.detail, code="SCHEMA_INVALID", rule=exc.rule or "contract")
    return exc


class JudgmentDesk:
    def __init__(self, reception: Reception, db: Database, recorder: ExchangeRecorder, rules: RoutingRules,
                 connectors: Any) -> None:
        self.reception = reception
        self.db = db
        self.recorder = recorder
        self.rules = rules
        self.connectors = connectors

    async def submit(self, data: bytes, route: Route, soap_version: str | None = None) -> Reply:
        async with self.recorder.exchange_async("inbound", AGENCY, OPERATION, service=SERVICE) as ex:
            try:
                court = intake_capability(self.connectors, AGENCY, JudgmentIntake)
            except HubError as exc:
                refused = Refused(exc, blind_answer(data, route))
                ex.request(data)
                return self._refusal(ex, refused, data, route, soap_version)
            try:
                arrival, fresh = await self.reception.receive(data, route, court.check_judgment_document, soap_version)
            except Refused as refused:
                ex.request(data)
                return self._refusal(ex, refused, data, route, soap_version)
            ex.request(data, arrival.verified.header, arrival.verified.payload_hash)
            try:
                taken, judgment = await asyncio.to_thread(self._take_in, court, arrival, fresh)
            except Refusal as exc:
                return self._refusal(ex, Refused(contract_refusal(exc), arrival.to), data, route,
                                     arrival.soap_version or soap_version)
            receipt = court.judgment_receipt(judgment, taken.intake_ref, duplicate=taken.duplicate,
                                             received_at=taken.received_at)
            reply = await asyncio.to_thread(self._answer, arrival, receipt)
            ex.response(reply.body, None)
            return reply

    async def refuse(self, refusal: Refusal, route: Route, soap_version: str | None = None) -> Reply:
        """A message refused before it could be read whole (over the size limit)."""
        async with self.recorder.exchange_async("inbound", AGENCY, OPERATION, service=SERVICE) as ex:
            ex.request(None)
            return self._refusal(ex, Refused(refusal, blind_answer(b"", route)), b"", route, soap_version)

    def _take_in(self, court: JudgmentIntake, arrival: Arrival, fresh: bool) -> tuple[TakenIn, Judgment]:
        if arrival.seen is not None:
            return first_answer(self.db, arrival.seen.record_id)
        judgment = court.judgment_from_document(arrival.verified.body)
        v = arrival.verified
        source = IntakeSource(agency=v.signer, message_id=v.header.message_id,
                              channel="soap" if arrival.soap_version else "rest", envelope_hash=v.envelope_hash,
                              document_hash=v.payload_hash, received_at=arrival.received_at)
        return take_in(self.db, judgment, source, self.rules), judgment

    def _answer(self, arrival: Arrival, receipt: etree._Element) -> Reply:
        if arrival.soap_version:
            return self.reception.soap_reply(arrival.soap_version, arrival.to, receipt)
        return Reply(200, self.reception.signed_bytes(arrival.to, receipt), XML_MEDIA_TYPE)

    def _refusal(self, ex: Exchange, refused: Refused, data: bytes, route: Route, soap_version: str | None) -> Reply:
        if route.channel == "soap":
            reply = self.reception.soap_fault(soap_version or "1.2", refused, data)
        else:
            reply = self.reception.problem(refused, "/v1/inbound/judgments")
        ex.response(reply.body, None, outcome="refused")
        ex.records[-1].error_code = refused.refusal.code
        return reply

