"""Intake records in SQL: a judgment taken in opens its case, in one transaction with everything it owes.

``take_in`` is idempotent by the judgment's identity (court, number as written): the second time, it
stores nothing new beyond the message that asked and answers with the first intake. In the same
transaction as a new intake: the judgment, the case in state "received" at the routed office, the
message, the evidence, and the outbox entries for identity resolution and for each subscriber.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from hub.errors import Conflict, NotFound
from hub.inbound.bulk import insert_case, insert_judgment
from hub.inbound.counters import next_number
from hub.inbound.routing import RoutingRules
from hub.model.case import CaseCategory, CaseObligation, EnforcementCase
from hub.model.intake import IntakeRecord, IntakeSource, PartyResolution
from hub.model.judgment import Judgment
from hub.model.party import PartyKind
from hub.outbox import stage
from hub.store.cases import get_case
from hub.store.database import Database
from hub.store.judgments import get_judgment
from hub.store.tables import inbound_evidence, inbound_messages, intakes, judgments, subscriptions
from hub.store.timestamps import as_utc

VN_TIME = dt.timezone(dt.timedelta(hours=7))
IDENTITY_QUEUE = "inbound.identity"
WEBHOOK_QUEUE = "inbound.webhooks"
NEW_INTAKE_EVENT = "intake.created"
# A first copy and a retransmission racing to insert: the loser finds the winner's row when it retries.
_RACE_RETRIES = 3
T = TypeVar("T")

# Built once: on this path (many judgments a second) building a statement costs more than running it.
_EVIDENCE = insert(inbound_evidence)
_FIND_MESSAGE = select(inbound_messages).where(inbound_messages.c.agency == bindparam("agency"),
                                               inbound_messages.c.message_id == bindparam("message_id"))
_REMEMBER = {True: pg_insert(inbound_messages).on_conflict_do_nothing(),
             False: sqlite_insert(inbound_messages).on_conflict_do_nothing()}
_EXISTING = (select(intakes.c.id, intakes.c.intake_ref, intakes.c.received_at)
             .join(judgments, judgments.c.id == intakes.c.judgment_id)
             .where(judgments.c.court_code == bindparam("court"), judgments.c.number_text == bindparam("number")))
_SUBSCRIBERS = select(subscriptions.c.id).where(subscriptions.c.revoked_at.is_(None))
_INTAKE = insert(intakes)


@dataclass(frozen=True)
class TakenIn:
    intake_id: uuid.UUID
    intake_ref: str
    received_at: dt.datetime  # of the first reception
    duplicate: bool


@dataclass(frozen=True)
class SeenMessage:
    envelope_hash: str
    record_id: str
    kind: str


def evidence(conn: Connection, agency: str, message_id: str | None, stage_name: str, record_id: str | None,
             **detail: Any) -> None:
    conn.execute(_EVIDENCE, {"at": dt.datetime.now(dt.UTC), "agency": agency, "message_id": message_id,
                             "stage": stage_name, "record_id": record_id, "detail": detail})


def find_message(db: Database, agency: str, message_id: str) -> SeenMessage | None:
    with db.engine.connect() as conn:
        row = conn.execute(_FIND_MESSAGE, {"agency": agency, "message_id": message_id}).first()
    return SeenMessage(row.envelope_hash, row.record_id, row.kind) if row else None


def remember_message(conn: Connection, agency: str, message_id: str, kind: str, envelope_hash: str,
                     record_id: str, at: dt.datetime) -> None:
    # A copy that lost the race to its twin finds the twin's row: nothing to add.
    conn.execute(_REMEMBER[conn.dialect.name == "postgresql"], {
        "agency": agency, "message_id": message_id, "kind": kind, "envelope_hash": envelope_hash,
        "record_id": record_id, "received_at": at})


def _category(judgment: Judgment) -> CaseCategory:
    """On request when some obligation benefits a party; on the office's own initiative when all are owed
    to the State (court fees, payments to the budget)."""
    if any(ob.obligee_id is not None for ob in judgment.obligations):
        return CaseCategory.ON_REQUEST
    return CaseCategory.ON_INITIATIVE


def _resolutions(judgment: Judgment) -> list[PartyResolution]:
    return [PartyResolution(party_id=jp.party.id) for jp in judgment.parties
            if jp.party.kind == PartyKind.INDIVIDUAL and jp.party.person_id is None]


def _existing(conn: Connection, judgment: Judgment) -> Any:
    return conn.execute(_EXISTING, {"court": judgment.court.code, "number": str(judgment.number)}).first()


def _open(conn: Connection, judgment: Judgment, source: IntakeSource, rules: RoutingRules,
          intake_id: uuid.UUID) -> TakenIn:
    received = source.received_at
    office = rules.office_for(judgment.court)
    local = received.astimezone(VN_TIME)
    stored = judgment.model_copy(update={"received_at": received})
    insert_judgment(conn, stored)
    case = EnforcementCase(office=office, judgment_id=stored.id, category=_category(stored), opened_on=local.date(),
                           obligations=[CaseObligation(obligation_id=ob.id) for ob in stored.obligations])
    insert_case(conn, case)
    resolutions = _resolutions(stored)
    if resolutions:
        stage(conn, IDENTITY_QUEUE, [{"intake_id": str(intake_id)}])
    subscribers = conn.execute(_SUBSCRIBERS).all()
    stage(conn, WEBHOOK_QUEUE, [{"subscription_id": str(s.id), "intake_id": str(intake_id),
                                 "event": NEW_INTAKE_EVENT} for s in subscribers])
    # The office's counter last: its row lock queues every intake of the office until this transaction
    # ends, so everything that does not need the number is written before it is taken.
    n = next_number(conn, office.code, local.year, "case")
    case_ref = f"THADS-{office.province_code}-{local.year}-{n:04d}"
    intake_ref = f"TN-{office.province_code}-{local.year}-{n:06d}"
    conn.execute(_INTAKE, dict(
        id=intake_id, judgment_id=stored.id, case_id=case.id, intake_ref=intake_ref, case_ref=case_ref,
        office_code=office.code, agency=source.agency, message_id=source.message_id, channel=source.channel,
        envelope_hash=source.envelope_hash, document_hash=source.document_hash, received_at=received,
        resolutions=[r.model_dump(mode="json") for r in resolutions]))
    evidence(conn, source.agency, source.message_id, "accepted", str(intake_id), intake_ref=intake_ref,
             case_ref=case_ref, office=office.code, channel=source.channel, document_hash=source.document_hash)
    return TakenIn(intake_id, intake_ref, received, duplicate=False)


def retrying(db: Database, work: Callable[[Connection], T]) -> T:
    """``work`` in a transaction, again when a twin copy committed the same record first (its next round
    finds that record and answers as a duplicate)."""
    for attempt in range(_RACE_RETRIES):
        try:
            with db.begin() as conn:
                return work(conn)
        except (IntegrityError, Conflict):
            if attempt == _RACE_RETRIES - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def take_in(db: Database, judgment: Judgment, source: IntakeSource, rules: RoutingRules) -> TakenIn:
    """Open the intake of ``judgment``, or answer with the one that already holds it."""

    def work(conn: Connection) -> TakenIn:
        row = _existing(conn, judgment)
        if row is None:
            intake_id = uuid.uuid4()
            remember(conn, intake_id)
            return _open(conn, judgment, source, rules, intake_id)
        taken = TakenIn(row.id, row.intake_ref, as_utc(row.received_at), duplicate=True)
        evidence(conn, source.agency, source.message_id, "duplicate", str(row.id),
                 channel=source.channel, document_hash=source.document_hash)
        remember(conn, taken.intake_id)
        return taken

    def remember(conn: Connection, intake_id: uuid.UUID) -> None:
        if source.channel != "reconciliation":
            remember_message(conn, source.agency, source.message_id, "judgment", source.envelope_hash or "",
                             str(intake_id), source.received_at)

    return retrying(db, work)


def first_answer(db: Database, intake_id: str) -> tuple[TakenIn, Judgment]:
    """The first intake and its judgment: what a retransmission is answered with."""
    with db.engine.connect() as conn:
        row = conn.execute(select(intakes).where(intakes.c.id == uuid.UUID(intake_id))).first()
        if row is None:
            raise NotFound(f"no intake {intake_id}")
        judgment = get_judgment(conn, row.judgment_id)
    return TakenIn(row.id, row.intake_ref, as_utc(row.received_at), duplicate=True), judgment


def record_from_row(conn: Connection, row: Any) -> IntakeRecord:
    return IntakeRecord(
        id=row.id, intake_ref=row.intake_ref, case_ref=row.case_ref, sequence=row.feed_seq,
        source=IntakeSource(agency=row.agency, message_id=row.message_id, channel=row.channel,
                            envelope_hash=row.envelope_hash, document_hash=row.document_hash,
                            received_at=as_utc(row.received_at)),
        judgment=get_judgment(conn, row.judgment_id), case=get_case(conn, row.case_id),
        resolutions=[PartyResolution.model_validate(r) for r in row.resolutions])


def get_record(db: Database, *, intake_id: uuid.UUID | None = None, case_id: uuid.UUID | None = None) -> IntakeRecord:
    where = intakes.c.id == intake_id if intake_id is not None else intakes.c.case_id == case_id
    with db.engine.connect() as conn:
        row = conn.execute(select(intakes).where(where)).first()
        if row is None:
            raise NotFound(f"no intake record for {'intake' if intake_id else 'case'} "
                           f"{intake_id or case_id}")
        return record_from_row(conn, row)
