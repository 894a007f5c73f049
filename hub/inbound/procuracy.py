"""Protests and recommendations the procuracy pushes (POST /v1/inbound/procuracy, edXML in its signed
envelope): stored once per edXML DocumentId and linked to their case.

The procuracy names the case by the reference it knows (HoSoThiHanhAn/MaHoSo): the hub's case_ref
first; failing that, the judgment number it writes beside it when exactly one intake holds that number.
An action the hub cannot link is kept all the same (case_id empty), answered, and findable by its
case_ref: refusing it would lose a legal document over a reference the office can fix.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from lxml import etree
from sqlalchemy import Connection, insert, select

from hub.connector import ProcuracyIntake
from hub.inbound.desk import RecordDesk
from hub.inbound.intake_store import evidence
from hub.inbound.reception import Arrival, Route
from hub.model.intake import InboundAction
from hub.store.tables import intakes, judgments, procuracy_actions

AGENCY = "procuracy"
ROUTE = Route(AGENCY, "procuracy", ("GuiKhangNghi", "GuiKienNghi"), "rest")


def case_of(conn: Connection, action: InboundAction) -> uuid.UUID | None:
    row = conn.execute(select(intakes.c.case_id).where(intakes.c.case_ref == action.case_ref)).first()
    if row is not None:
        return uuid.UUID(str(row.case_id))
    if action.judgment_number:
        rows = conn.execute(select(intakes.c.case_id).join(judgments, judgments.c.id == intakes.c.judgment_id)
                            .where(judgments.c.number_text == action.judgment_number)).all()
        if len(rows) == 1:
            return uuid.UUID(str(rows[0].case_id))
    return None


class ProcuracyDesk(RecordDesk):
    capability = ProcuracyIntake
    kind = "action"
    path = "/v1/inbound/procuracy"

    def check(self, connector: Any) -> Callable[[etree._Element], None]:
        procuracy: ProcuracyIntake = connector
        return procuracy.check_action_document

    def read(self, connector: Any, document: etree._Element) -> InboundAction:
        procuracy: ProcuracyIntake = connector
        return procuracy.action_from_document(document)

    def store(self, conn: Connection, read: Any, arrival: Arrival, context: dict[str, str]) -> tuple[str, bool]:
        inbound: InboundAction = read
        message_id = arrival.verified.header.message_id
        known = conn.execute(select(procuracy_actions.c.id).where(
            procuracy_actions.c.document_id == inbound.document_id)).first()
        if known is not None:
            evidence(conn, AGENCY, message_id, "duplicate", str(known.id), document_id=inbound.document_id)
            return str(known.id), True
        case_id = case_of(conn, inbound)
        action = inbound.action.model_copy(update={"case_id": case_id, "received_at": arrival.received_at})
        conn.execute(insert(procuracy_actions).values(
            id=action.id, document_id=inbound.document_id, case_id=case_id, case_ref=inbound.case_ref,
            action=action.model_dump(mode="json"), details=inbound.details, received_at=arrival.received_at))
        evidence(conn, AGENCY, message_id, "accepted", str(action.id), document_id=inbound.document_id,
                 kind=action.kind.value, case_ref=inbound.case_ref)
        evidence(conn, AGENCY, message_id, "linked" if case_id else "unlinked",
                 str(case_id) if case_id else str(action.id), action_id=str(action.id), case_ref=inbound.case_ref)
        return str(action.id), False
