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

from sqlalchemy import Connection, insert, or_, select, update

from hub.commands.kinds import CommandKind, CommandStatus
from hub.model.decisions import AgencyReceipt
from hub.store.database import Database
from hub.store.tables import command_events, commands
from hub.store.timestamps import utc_now

log = logging.getLogger("thads.commands")


class Busy(Exception):
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


def _event(conn: Connection, command_id: uuid.UUID, status: CommandStatus, at: dt.datetime, **values: Any) -> None:
    conn.execute(insert(command_events).values(command_id=command_id, at=at, status=status.value, **values))


@dataclass
class CommandRecords:
    db: Database
    lease_s: float = 120.0  # longer than any one delivery may take (the call's deadline)

    def claim(self, command_id: uuid.UUID, entry_id: str) -> Claimed | None:
        """Own the command for this delivery; None when there is nothing to do; Busy when another owns it."""
        now = utc_now()
        with self.db.begin() as conn:
            row = conn.execute(select(commands).where(commands.c.id == command_id)).first()
            if row is None:
                log.warning("entry %s names command %s, which does not exist; dropped", entry_id, command_id)
                return None
            status = CommandStatus(row.status)
            if status is CommandStatus.ACKNOWLEDGED:
                return None
            if status in (CommandStatus.FAILED, CommandStatus.DEAD_LETTERED) and \
                    _stream_order(entry_id) <= _stream_order(row.closed_by_entry):
                return None
            taken = conn.execute(update(commands).where(
                commands.c.id == command_id, commands.c.status == row.status,
                or_(commands.c.owner_entry.is_(None), commands.c.owner_entry == entry_id,
                    commands.c.lease_until < now))
                .values(status=CommandStatus.SENT.value, owner_entry=entry_id, attempts=commands.c.attempts + 1,
                        lease_until=now + dt.timedelta(seconds=self.lease_s), updated_at=now))
            if taken.rowcount == 0:
                raise Busy(f"command {command_id} is being delivered by another entry")
            attempt = row.attempts + 1
            _event(conn, command_id, CommandStatus.SENT, now, attempt=attempt,
                   detail="reopened by a replayed entry" if status in (CommandStatus.FAILED,
                                                                       CommandStatus.DEAD_LETTERED) else None)
        return Claimed(id=row.id, kind=CommandKind(row.kind), agency=row.agency, case_ref=row.case_ref,
                       officer=row.officer, purpose=row.purpose, natural_key=row.natural_key, payload=row.payload,
                       attempt=attempt)

    def acknowledge(self, command_id: uuid.UUID, entry_id: str, receipt: AgencyReceipt) -> None:
        now = utc_now()
        with self.db.begin() as conn:
            done = conn.execute(update(commands).where(
                commands.c.id == command_id, commands.c.status != CommandStatus.ACKNOWLEDGED.value)
                .values(status=CommandStatus.ACKNOWLEDGED.value, agency_ref=receipt.reference,
                        receipt=receipt.model_dump(mode="json"), owner_entry=None, lease_until=None,
                        closed_by_entry=entry_id, error_code=None, error_detail=None, completed_at=now,
                        updated_at=now))
            if done.rowcount:
                _event(conn, command_id, CommandStatus.ACKNOWLEDGED, now, agency_ref=receipt.reference)

    def give_back(self, command_id: uuid.UUID, entry_id: str, code: str, detail: str) -> None:
        """A transient failure: queued again, for the next delivery of the entry."""
        self._close(command_id, entry_id, CommandStatus.QUEUED, code, detail, ended=False)

    def end(self, command_id: uuid.UUID, entry_id: str, status: CommandStatus, code: str, detail: str) -> None:
        """Failed (the agency refused, or it cannot be carried out) or dead-lettered (no attempt left)."""
        self._close(command_id, entry_id, status, code, detail, ended=True)

    def _close(self, command_id: uuid.UUID, entry_id: str, status: CommandStatus, code: str, detail: str, *,
               ended: bool) -> None:
        now = utc_now()
        values: dict[str, Any] = {"status": status.value, "owner_entry": None, "lease_until": None,
                                  "error_code": code, "error_detail": detail[:2000], "updated_at": now}
        if ended:
            values.update(closed_by_entry=entry_id, completed_at=now)
        with self.db.begin() as conn:
            changed = conn.execute(update(commands).where(
                commands.c.id == command_id, commands.c.owner_entry == entry_id,
                commands.c.status == CommandStatus.SENT.value).values(**values))
            if changed.rowcount:
                _event(conn, command_id, status, now, error_code=code, detail=detail[:2000])
            else:
                log.info("command %s: outcome %s of entry %s not recorded: another delivery owns it now",
                         command_id, status.value, entry_id)
