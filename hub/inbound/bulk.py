"""A judgment and the case it opens, written with one statement per table.

``hub.store`` writes a judgment row by row and checks for an existing party first, which suits a judgment
whose parties may be known already. Intake stores a judgment just mapped from a court's document, whose
parties are all new (fresh ids), many times a second: the same rows, as multi-row inserts. A second copy
of the same court number still fails on the judgments' unique constraint, which the caller retries.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert

from hub.model.case import EnforcementCase
from hub.model.judgment import Judgment
from hub.store.cases import _DETAIL_FIELDS  # the one list of a case's JSON collections
from hub.store.judgments import _party_row  # the one description of a party row
from hub.store.tables import case_obligations, enforcement_cases, judgment_parties, judgments, obligations, parties
from hub.store.timestamps import as_utc

# Built once: on this path (many judgments a second) building a statement costs more than running it.
_JUDGMENT, _PARTIES, _JUDGMENT_PARTIES, _OBLIGATIONS = (insert(judgments), insert(parties), insert(judgment_parties),
                                                        insert(obligations))
_CASE, _CASE_OBLIGATIONS = insert(enforcement_cases), insert(case_obligations)


def insert_judgment(conn: Connection, j: Judgment) -> None:
    n = j.number
    conn.execute(_JUDGMENT, dict(
        id=j.id, number_text=str(n), number_seq=n.seq, number_year=n.year, case_type=n.case_type.value,
        instance=n.instance.value, kind=n.kind, court_code=j.court.code, court_name=j.court.name,
        court_level=j.court.level.value, court_province=j.court.province_code, issued_on=j.issued_on,
        effective_on=j.effective_on, source_document_hash=j.source_document_hash, received_at=as_utc(j.received_at)))
    conn.execute(_PARTIES, [_party_row(jp.party) for jp in j.parties])
    conn.execute(_JUDGMENT_PARTIES, [{"judgment_id": j.id, "party_id": jp.party.id, "role": jp.role.value,
                                             "position": pos} for pos, jp in enumerate(j.parties)])
    if j.obligations:
        conn.execute(_OBLIGATIONS, [
            {"id": ob.id, "judgment_id": j.id, "position": pos, "kind": ob.kind.value, "obligor_id": ob.obligor_id,
             "obligee_id": ob.obligee_id, "amount_vnd": ob.amount_vnd, "description": ob.description}
            for pos, ob in enumerate(j.obligations)])


def insert_case(conn: Connection, c: EnforcementCase) -> None:
    conn.execute(_CASE, dict(
        id=c.id, judgment_id=c.judgment_id, office_code=c.office.code, office_name=c.office.name,
        office_level=c.office.level.value, office_province=c.office.province_code, category=c.category.value,
        status=c.status.value, opened_on=c.opened_on, details=c.model_dump(mode="json", include=set(_DETAIL_FIELDS))))
    if c.obligations:
        conn.execute(_CASE_OBLIGATIONS, [
            {"case_id": c.id, "obligation_id": ob.obligation_id, "position": pos, "status": ob.status.value,
             "collected_vnd": ob.collected_vnd} for pos, ob in enumerate(c.obligations)])
