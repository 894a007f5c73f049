"""Judgments with their parties and obligations, in and out of SQL unchanged."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import Connection, delete, insert, select, update

from hub.errors import Conflict, NotFound
from hub.model.judgment import Court, Judgment, JudgmentParty, Obligation
from hub.model.judgment_number import JudgmentNumber
from hub.model.names import name_key
from hub.model.party import Address, Party
from hub.store.tables import judgment_parties, judgments, obligations, parties
from hub.store.timestamps import as_utc


def _party_row(p: Party) -> dict[str, Any]:
    return {
        "id": p.id, "kind": p.kind.value, "full_name": p.full_name, "name_key": name_key(p.full_name),
        "birth_date": p.birth_date, "gender": p.gender.value if p.gender else None,
        "person_id": p.person_id, "legacy_id": p.legacy_id, "tax_code": p.tax_code,
        "addresses": [a.model_dump(mode="json") for a in p.addresses], "extensions": dict(p.extensions),
    }


def save_party(conn: Connection, p: Party) -> None:
    """Insert or refresh a party: the same person can appear in several judgments under one id."""
    row = _party_row(p)
    exists = conn.execute(select(parties.c.id).where(parties.c.id == p.id)).first()
    if exists:
        conn.execute(update(parties).where(parties.c.id == p.id).values(**row))
    else:
        conn.execute(insert(parties).values(**row))


def _party_from_row(r: Any) -> Party:
    return Party(
        id=r.id, kind=r.kind, full_name=r.full_name, birth_date=r.birth_date, gender=r.gender,
        person_id=r.person_id, legacy_id=r.legacy_id, tax_code=r.tax_code,
        addresses=[Address.model_validate(a) for a in r.addresses], extensions=r.extensions,
    )


def add_judgment(conn: Connection, j: Judgment) -> None:
    """Store a judgment in the caller's transaction; a second copy of the same court number conflicts."""
    dup = conn.execute(select(judgments.c.id).where(
        judgments.c.court_code == j.court.code, judgments.c.number_text == str(j.number))).first()
    if dup:
        raise Conflict(f"court {j.court.code} already has judgment {j.number}", rule="judgment_unique",
                       existing_id=str(dup.id))
    n = j.number
    conn.execute(insert(judgments).values(
        id=j.id, number_text=str(n), number_seq=n.seq, number_year=n.year, case_type=n.case_type.value,
        instance=n.instance.value, kind=n.kind, court_code=j.court.code, court_name=j.court.name,
        court_level=j.court.level.value, court_province=j.court.province_code, issued_on=j.issued_on,
        effective_on=j.effective_on, source_document_hash=j.source_document_hash,
        received_at=as_utc(j.received_at),
    ))
    for pos, jp in enumerate(j.parties):
        save_party(conn, jp.party)
        conn.execute(insert(judgment_parties).values(judgment_id=j.id, party_id=jp.party.id,
                                                     role=jp.role.value, position=pos))
    for pos, ob in enumerate(j.obligations):
        conn.execute(insert(obligations).values(
            id=ob.id, judgment_id=j.id, position=pos, kind=ob.kind.value, obligor_id=ob.obligor_id,
            obligee_id=ob.obligee_id, amount_vnd=ob.amount_vnd, description=ob.description))


def get_judgment(conn: Connection, judgment_id: UUID) -> Judgment:
    r = conn.execute(select(judgments).where(judgments.c.id == judgment_id)).first()
    if r is None:
        raise NotFound(f"no judgment {judgment_id}")
    party_rows = conn.execute(
        select(judgment_parties.c.role, parties)
        .join(parties, parties.c.id == judgment_parties.c.party_id)
        .where(judgment_parties.c.judgment_id == judgment_id)
        .order_by(judgment_parties.c.position)).all()
    ob_rows = conn.execute(select(obligations).where(obligations.c.judgment_id == judgment_id)
                           .order_by(obligations.c.position)).all()
    return Judgment(
        id=r.id, number=JudgmentNumber.parse(r.number_text),
        court=Court(code=r.court_code, name=r.court_name, level=r.court_level, province_code=r.court_province),
        issued_on=r.issued_on, effective_on=r.effective_on,
        parties=[JudgmentParty(role=pr.role, party=_party_from_row(pr)) for pr in party_rows],
        obligations=[Obligation(id=o.id, kind=o.kind, obligor_id=o.obligor_id, obligee_id=o.obligee_id,
                                amount_vnd=o.amount_vnd, description=o.description) for o in ob_rows],
        source_document_hash=r.source_document_hash, received_at=as_utc(r.received_at),
    )


def delete_judgment(conn: Connection, judgment_id: UUID) -> None:
    conn.execute(delete(judgments).where(judgments.c.id == judgment_id))
