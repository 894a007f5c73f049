"""Enforcement cases in and out of SQL unchanged."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from pydantic import TypeAdapter
from sqlalchemy import Connection, insert, select

from hub.errors import Conflict, NotFound
from hub.model.case import CaseObligation, EnforcementCase, EnforcementDecision, EnforcementOffice
from hub.store.tables import case_obligations, enforcement_cases

# The collections kept as JSON until a later issue gives them tables: validated on the way back in,
# so a hand-edited row fails loudly instead of producing a half-valid case.
_DETAIL_FIELDS = ("land_parcels", "bank_accounts", "verification_ids", "notifications", "freezes",
                  "restrictions", "payments", "receipts", "procuracy_actions")
_details_adapter: TypeAdapter[dict[str, Any]] = TypeAdapter(dict[str, Any])


def add_case(conn: Connection, c: EnforcementCase) -> None:
    if conn.execute(select(enforcement_cases.c.id).where(enforcement_cases.c.id == c.id)).first():
        raise Conflict(f"case {c.id} exists", rule="case_unique")
    details = c.model_dump(mode="json", include=set(_DETAIL_FIELDS))
    d = c.decision
    conn.execute(insert(enforcement_cases).values(
        id=c.id, judgment_id=c.judgment_id, office_code=c.office.code, office_name=c.office.name,
        office_level=c.office.level.value, office_province=c.office.province_code,
        category=c.category.value, status=c.status.value, opened_on=c.opened_on,
        decision_number=d.number if d else None, decision_issued_on=d.issued_on if d else None,
        decision_officer=d.officer if d else None, details=details,
    ))
    for pos, ob in enumerate(c.obligations):
        conn.execute(insert(case_obligations).values(
            case_id=c.id, obligation_id=ob.obligation_id, position=pos, status=ob.status.value,
            collected_vnd=ob.collected_vnd))


def get_case(conn: Connection, case_id: UUID) -> EnforcementCase:
    r = conn.execute(select(enforcement_cases).where(enforcement_cases.c.id == case_id)).first()
    if r is None:
        raise NotFound(f"no enforcement case {case_id}")
    obs = conn.execute(select(case_obligations).where(case_obligations.c.case_id == case_id)
                       .order_by(case_obligations.c.position)).all()
    decision = (EnforcementDecision(number=r.decision_number, issued_on=r.decision_issued_on,
                                    officer=r.decision_officer) if r.decision_number else None)
    return EnforcementCase(
        id=r.id, judgment_id=r.judgment_id,
        office=EnforcementOffice(code=r.office_code, name=r.office_name, level=r.office_level,
                                 province_code=r.office_province),
        category=r.category, status=r.status, opened_on=r.opened_on, decision=decision,
        obligations=[CaseObligation(obligation_id=o.obligation_id, status=o.status,
                                    collected_vnd=o.collected_vnd) for o in obs],
        **_details_adapter.validate_python(r.details),
    )
