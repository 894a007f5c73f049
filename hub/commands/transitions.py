"""A command's record through its deliveries: who is asking the agency now, and what came of it.

The row decides, not the queue entry. An entry first claims its command (status ``sent``, owned by this
entry id, leased):
- a command already acknowledged is left alone: a repeated or duplicated entry repeats nothing;
- a failed or dead-lettered command is reopened only by an entry newer than the one that ended it (a
  replay from the dead letters: stream ids grow with time), never by an older duplicate;
- a command owned by *another* entry whose lease holds is left to it (retry later);
- a command owned by *this same* entry is taken over: the queue delivers an entry again only when the
  worker that had it stopped renewing it (it died), so that attempt will never finish.
Outcomes are written only by the owning entry, except an acknowledgment, which is the agency's word and is
written by whichever delivery hears it first. Each transition appends to the command's history.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, insert, literal, or_, select, update

from hub.commands.kinds import CommandKind, CommandStatus
from hub.commands.shared_commit import Refused, SharedCommit, Tx
from hub.model.decisions import AgencyReceipt
from hub.store.database import Database
from hub.store.tables import command_events, commands
from hub.store.timestamps import utc_now

log = logging.getLogger("thads.commands")


class Busy(Refused):
    """Another live delivery owns the command."""


@dataclass(frozen=True)
class Claimed:
    id: uuid.UUID
    kind: CommandKind
    agency: str
    case_ref: str
    officer: str
    purpose: str
    natural_key: str
    payload: dict[str, Any]
    attempt: int


def _stream_order(entry_id: str | None) -> tuple[int, int]:
    if not entry_id:
        return (0, 0)
    millis, _, seq = entry_id.partition("-")
    return (int(millis), int(seq or 0))


# Statements built once: building and keying a SQLAlchemy statement costs more than running it (about 2 ms
# against 0.2 ms on the benchmark machine), and every delivery runs four of them.
# The common claim, of a command waiting for its first or next delivery, is taken by all the claims of one
# shared transaction together (_Claim.prepare_together): one executemany of _CLAIM_QUEUED, then one select of
# the rows it changed (_CLAIMED_NOW: the batch's own timestamp and lease mark them). The others (taken over,
# reopened, owned by another entry, done) go through _ROW and _TAKE one by one.
_COLUMNS = (commands.c.id, commands.c.kind, commands.c.agency, commands.c.case_ref, commands.c.officer,
            commands.c.purpose, commands.c.natural_key, commands.c.payload, commands.c.attempts)
_CLAIM_QUEUED = update(commands).where(
    commands.c.id == bindparam("b_id"), commands.c.status == CommandStatus.QUEUED.value,
    commands.c.owner_entry.is_(None)).values(
    status=CommandStatus.SENT.value, owner_entry=bindparam("b_entry"), attempts=commands.c.attempts + 1,
    lease_until=bindparam("b_lease"), updated_at=bindparam("b_now"))
_CLAIMED_NOW = select(*_COLUMNS, commands.c.owner_entry).where(
    commands.c.id.in_(bindparam("b_ids", expanding=True)), commands.c.status == CommandStatus.SENT.value,
    commands.c.updated_at == bindparam("b_now"), commands.c.lease_until == bindparam("b_lease"))
_ROW = select(*_COLUMNS, commands.c.status, commands.c.closed_by_entry).where(commands.c.id == bindparam("b_id"))
_TAKE = update(commands).where(
    commands.c.id == bindparam("b_id"), commands.c.status == bindparam("b_was"),
    or_(commands.c.owner_entry.is_(None), commands.c.owner_entry == bindparam("b_entry"),
        commands.c.lease_until < bindparam("b_now"))).values(
    status=CommandStatus.SENT.value, owner_entry=bindparam("b_entry"), attempts=commands.c.attempts + 1,
    lease_until=bindparam("b_lease"), updated_at=bindparam("b_now"))
_ACKNOWLEDGE = update(commands).where(
    commands.c.id == bindparam("b_id"), commands.c.status != CommandStatus.ACKNOWLEDGED.value).values(
    status=CommandStatus.ACKNOWLEDGED.value, agency_ref=bindparam("b_ref"), receipt=bindparam("b_receipt"),
    owner_entry=None, lease_until=None, closed_by_entry=bindparam("b_entry"), error_code=None, error_detail=None,
    completed_at=bindparam("b_now"), updated_at=bindparam("b_now"))
_CLOSE = update(commands).where(
    commands.c.id == bindparam("b_id"), commands.c.owner_entry == bindparam("b_entry"),
    commands.c.status == CommandStatus.SENT.value).values(
    status=bindparam("b_status"), owner_entry=None, lease_until=None, error_code=bindparam("b_code"),
    error_detail=bindparam("b_detail"), updated_at=bindparam("b_now"), closed_by_entry=bindparam("b_closed_by"),
    completed_at=bindparam("b_completed"))
_ABANDON = update(commands).where(
    commands.c.id == bindparam("b_id"),
    commands.c.status.in_([CommandStatus.QUEUED.value, CommandStatus.SENT.value]),
    or_(commands.c.owner_entry.is_(None), commands.c.owner_entry == bindparam("b_entry"),
        commands.c.lease_until < bindparam("b_now"))).values(
    status=CommandStatus.DEAD_LETTERED.value, owner_entry=None, lease_until=None, error_code=bindparam("b_code"),
    error_detail=bindparam("b_detail"), updated_at=bindparam("b_now"), closed_by_entry=bindparam("b_entry"),
    completed_at=bindparam("b_now"))
_EVENT = insert(command_events)
# An acknowledgment's history entry, written only if its own update changed the row (the row then carries
# this delivery's entry and timestamp): both run deferred, as one executemany each for the whole batch.
_ACKNOWLEDGED_EVENT = insert(command_events).from_select(
    ["command_id", "at", "status", "agency_ref"],
    select(commands.c.id, bindparam("b_now", type_=commands.c.completed_at.type),
           literal(CommandStatus.ACKNOWLEDGED.value, type_=command_events.c.status.type),
           bindparam("b_ref", type_=command_events.c.agency_ref.type)).where(
        commands.c.id == bindparam("b_id"), commands.c.status == CommandStatus.ACKNOWLEDGED.value,
        commands.c.closed_by_entry == bindparam("b_entry"), commands.c.completed_at == bindparam("b_now")))
_EVENT_FIELDS = ("attempt", "agency_ref", "error_code", "detail")


def _event(tx: Tx, command_id: uuid.UUID, status: CommandStatus, at: dt.datetime, **values: Any) -> None:
    tx.later(_EVENT, {"command_id": command_id, "at": at, "status": status.value,
                      **{f: values.get(f) for f in _EVENT_FIELDS}})


class CommandRecords:
    """The transitions of commands' rows, each durable when its coroutine returns; concurrent ones share a
    transaction (``SharedCommit``)."""

    def __init__(self, db: Database, lease_s: float = 120.0) -> None:
        self.lease_s = lease_s  # longer than any one delivery may take (the call's deadline)
        self.shared = SharedCommit(db)

    async def claim(self, command_id: uuid.UUID, entry_id: str) -> Claimed | None:
        """Own the command for this delivery; None when there is nothing to do; Busy when another owns it."""
        claimed: Claimed | None = await self.shared.run(_Claim(self, command_id, entry_id))
        return claimed

    async def acknowledge(self, command_id: uuid.UUID, entry_id: str, receipt: AgencyReceipt) -> None:
        await self.shared.run(lambda tx: _acknowledge(tx, command_id, entry_id, receipt))

    async def give_back(self, command_id: uuid.UUID, entry_id: str, code: str, detail: str) -> None:
        """A transient failure: queued again, for the next delivery of the entry."""
        await self.shared.run(lambda tx: _close(tx, command_id, entry_id, CommandStatus.QUEUED, code, detail))

    async def end(self, command_id: uuid.UUID, entry_id: str, status: CommandStatus, code: str, detail: str) -> None:
        """Failed (the agency refused, or it cannot be carried out) or dead-lettered (no attempt left)."""
        await self.shared.run(lambda tx: _close(tx, command_id, entry_id, status, code, detail, ended=True))

    async def abandon(self, command_id: uuid.UUID, entry_id: str, code: str, detail: str) -> None:
        """Dead-lettered without an outcome: its entry's deliveries all died. Only a command still waiting or
        held by that entry (or by a lease that has run out) changes; an ended one, or one another entry is
        delivering, stays as it is."""
        await self.shared.run(lambda tx: _abandon(tx, command_id, entry_id, code, detail))

    def _claim(self, tx: Tx, command_id: uuid.UUID, entry_id: str) -> Claimed | None:
        """A claim the common case (_Claim.prepare_together) did not take."""
        now = utc_now()
        lease = now + dt.timedelta(seconds=self.lease_s)
        row = tx.conn.execute(_ROW, {"b_id": command_id}).first()
        if row is None:
            log.warning("entry %s names command %s, which does not exist; dropped", entry_id, command_id)
            return None
        status = CommandStatus(row.status)
        if status is CommandStatus.ACKNOWLEDGED:
            return None
        ended = status in (CommandStatus.FAILED, CommandStatus.DEAD_LETTERED)
        if ended and _stream_order(entry_id) <= _stream_order(row.closed_by_entry):
            return None
        taken = tx.conn.execute(_TAKE, {"b_id": command_id, "b_was": row.status, "b_entry": entry_id, "b_now": now,
                                        "b_lease": lease})
        if taken.rowcount == 0:
            raise Busy(f"command {command_id} is being delivered by another entry")
        _event(tx, command_id, CommandStatus.SENT, now, attempt=row.attempts + 1,
               detail="reopened by a replayed entry" if ended else None)
        return _claimed(row, attempt=row.attempts + 1)


class _Claim:
    """One claim as a shared-transaction write. The claims of a batch first take the common case together:
    each command waiting for its first or next delivery and owned by nobody becomes this entry's."""

    def __init__(self, records: CommandRecords, command_id: uuid.UUID, entry_id: str) -> None:
        self.records, self.command_id, self.entry_id = records, command_id, entry_id
        self.taken: Any = None  # the row, when the common case took it
        self.at: dt.datetime | None = None

    @staticmethod
    def prepare_together(tx: Tx, claims: list[_Claim]) -> None:
        now = utc_now()
        lease = now + dt.timedelta(seconds=claims[0].records.lease_s)
        tx.conn.execute(_CLAIM_QUEUED, [{"b_id": c.command_id, "b_entry": c.entry_id, "b_now": now, "b_lease": lease}
                                        for c in claims])
        # Two entries of one command in a batch: the first update took it, the second found it owned; the row
        # says which entry owns it now. A row another process claimed meanwhile has its own timestamp.
        taken = {(row.id, row.owner_entry): row for row in tx.conn.execute(
            _CLAIMED_NOW, {"b_ids": list({c.command_id for c in claims}), "b_now": now, "b_lease": lease})}
        for claim in claims:
            claim.taken, claim.at = taken.get((claim.command_id, claim.entry_id)), now

    def __call__(self, tx: Tx) -> Claimed | None:
        if self.taken is not None and self.at is not None:
            _event(tx, self.command_id, CommandStatus.SENT, self.at, attempt=self.taken.attempts)
            return _claimed(self.taken)
        return self.records._claim(tx, self.command_id, self.entry_id)


def _claimed(row: Any, attempt: int | None = None) -> Claimed:
    return Claimed(id=row.id, kind=CommandKind(row.kind), agency=row.agency, case_ref=row.case_ref, officer=row.officer,
                   purpose=row.purpose, natural_key=row.natural_key, payload=row.payload,
                   attempt=row.attempts if attempt is None else attempt)


def _acknowledge(tx: Tx, command_id: uuid.UUID, entry_id: str, receipt: AgencyReceipt) -> None:
    # Deferred to the end of the shared transaction, like the history rows: one executemany for every
    # acknowledgment of the batch. The command's row stays "sent" (owned by this entry) until then, so a
    # claim later in the same batch finds it owned (Busy, retried later), not waiting to be claimed.
    params = {"b_id": command_id, "b_ref": receipt.reference, "b_entry": entry_id, "b_now": utc_now()}
    tx.later(_ACKNOWLEDGE, {**params, "b_receipt": receipt.model_dump(mode="json")})
    tx.later(_ACKNOWLEDGED_EVENT, params)


def _abandon(tx: Tx, command_id: uuid.UUID, entry_id: str, code: str, detail: str) -> None:
    now = utc_now()
    changed = tx.conn.execute(_ABANDON, {"b_id": command_id, "b_entry": entry_id, "b_code": code,
                                         "b_detail": detail[:2000], "b_now": now})
    if changed.rowcount:
        _event(tx, command_id, CommandStatus.DEAD_LETTERED, now, error_code=code, detail=detail[:2000])


def _close(tx: Tx, command_id: uuid.UUID, entry_id: str, status: CommandStatus, code: str, detail: str,
           *, ended: bool = False) -> None:
    now = utc_now()
    changed = tx.conn.execute(_CLOSE, {
        "b_id": command_id, "b_entry": entry_id, "b_status": status.value, "b_code": code, "b_detail": detail[:2000],
        "b_now": now, "b_closed_by": entry_id if ended else None, "b_completed": now if ended else None})
    if changed.rowcount:
        _event(tx, command_id, status, now, error_code=code, detail=detail[:2000])
    else:
        log.info("command %s: outcome %s of entry %s not recorded: another delivery owns it now",
                 command_id, status.value, entry_id)
