"""SubmitJudgment: a court pushes a judgment (SOAP at /soap/court, or the same envelope over REST at
/v1/inbound/judgments), the hub takes it in and answers the court's signed receipt in the same response.

After the reception pipeline: the court connector (``JudgmentIntake``) maps only the verified ``ba:BanAn``;
the intake is stored idempotently by (court, number); the answer is ``ba:BienNhanBanAn`` in a hub-signed
envelope, DA_TIEP_NHAN the first time and TRUNG_LAP (with the first MaTiepNhan and time) after.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from hub.audit.recorder import ExchangeRecorder
from hub.connector import JudgmentIntake
from hub.inbound.desk import Desk
from hub.inbound.intake_store import first_answer, take_in
from hub.inbound.reception import Arrival, Reception, Route
from hub.inbound.routing import RoutingRules
from hub.model.intake import IntakeSource
from hub.store.database import Database

AGENCY = "court"
SERVICE = "judgments"
OPERATION = "SubmitJudgment"
SOAP_ROUTE = Route(AGENCY, SERVICE, (OPERATION,), "soap")
REST_ROUTE = Route(AGENCY, SERVICE, (OPERATION,), "rest")


class JudgmentDesk(Desk):
    capability = JudgmentIntake
    path = "/v1/inbound/judgments"

    def __init__(self, reception: Reception, db: Database, recorder: ExchangeRecorder, rules: RoutingRules,
                 connectors: Any) -> None:
        super().__init__(reception, db, recorder, connectors)
        self.rules = rules

    def check(self, connector: Any) -> Callable[[etree._Element], None]:
        court: JudgmentIntake = connector
        return court.check_judgment_document

    def take(self, connector: Any, arrival: Arrival, fresh: bool, context: dict[str, str]) -> etree._Element:
        court: JudgmentIntake = connector
        if arrival.seen is not None:
            taken, judgment = first_answer(self.db, arrival.seen.record_id)
        else:
            judgment = court.judgment_from_document(arrival.verified.body)
            v = arrival.verified
            source = IntakeSource(agency=v.signer, message_id=v.header.message_id,
                                  channel="soap" if arrival.soap_version else "rest", envelope_hash=v.envelope_hash,
                                  document_hash=v.payload_hash, received_at=arrival.received_at)
            taken = take_in(self.db, judgment, source, self.rules)
        return court.judgment_receipt(judgment, taken.intake_ref, duplicate=taken.duplicate,
                                      received_at=taken.received_at)
