"""Accepting commands and reading them back.

Accepting is one SQL transaction: the command rows, their first history entry and their outbox entries
(``hub.outbox.stage``) commit together, so an answered 202 means the hub holds the work to deliver and
a refused request leaves nothing behind. The same act asked again (the agency's own key: kind, agency,
decision, target) finds the stored command and stages nothing; an ``Idempotency-Key`` returns the
first answer to the same key.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, insert, select
from sqlalchemy.exc import IntegrityError

from hub.clients import ApiClient
from hub.commands.kinds import CONFIRMED, QUEUE, CommandStatus, PlannedCommand
from hub.commands.requests import CommandRequest
from hub.commands.views import CommandError, CommandSummary, CommandView, HistoryEntry
from hub.errors import Conflict, NotFound
from hub.outbox import stage
from hub.store.database import Database
from hub.store.tables import command_events, command_requests, commands
from hub.store.timestamps import as_utc, utc_now

MAX_LISTED = 1000


def command_url(command_id: uuid.UUID) -> str:
    return f"/v1/commands/{command_id}"


def request_hash(request: CommandRequest) -> str:
    return hashlib.sha256(f"{type(request).__name__}:{request.model_dump_json()}".encode()).hexdigest()


@dataclass
class CommandService:
    db: Database

    def accept(self, client: ApiClient, request: CommandRequest, idempotency_key: str | None = None
               ) -> list[CommandSummary]:
        planned = request.plan()
        body_hash = request_hash(request)
        for attempt in range(3):
            try:
                with self.db.begin() as conn:
                    ids = self._accept(conn, client, request, planned, idempotency_key, body_hash)
                break
            except IntegrityError:
                # Another request stored the same commands (or key) first: read them on the next round.
                if attempt == 2:
                    raise
        return self._summaries(ids)

    def _accept(self, conn: Connection, client: ApiClient, request: CommandRequest, planned: list[PlannedCommand],
                idempotency_key: str | None, body_hash: str) -> list[uuid.UUID]:
        if idempotency_key is not None:
            seen = conn.execute(select(command_requests).where(
                command_requests.c.client_name == client.name,
                command_requests.c.idempotency_key == idempotency_key)).first()
            if seen is not None:
                if seen.request_hash != body_hash:
                    raise Conflict("this Idempotency-Key was sent with a different request",
                                   rule="idempotency_key_reused")
                return [uuid.UUID(i) for i in seen.command_ids]
        case = request.case
        stored = {r.natural_key: r for r in conn.execute(
            select(commands.c.id, commands.c.natural_key, commands.c.case_ref, commands.c.payload)
            .where(commands.c.natural_key.in_([p.natural_key for p in planned])))}
        actual: dict[uuid.UUID, uuid.UUID] = {}
        for p in planned:
            found = stored.get(p.natural_key)
            if found is None:
                continue
            if found.case_ref != case or found.payload != p.payload:
                raise Conflict(f"{p.kind.value} at {p.agency} for {p.target} by decision {p.decision_ref} was "
                               f"already asked with other content (command {found.id})", rule="same_act_differs",
                               command_id=str(found.id))
            actual[p.id] = found.id
        new = [p for p in planned if p.id not in actual]
        if new:
            now = utc_now()
            conn.execute(insert(commands), [{
                "id": p.id, "kind": p.kind.value, "agency": p.agency, "target": p.target,
                "natural_key": p.natural_key, "case_ref": case, "decision_ref": p.decision_ref,
                "client_name": client.name, "officer": (request.officer or "").strip(),
                "purpose": (request.purpose or "").strip(), "payload": p.payload,
                "linked_to": actual.get(p.linked_to, p.linked_to) if p.linked_to else None,
                "status": CommandStatus.QUEUED.value, "attempts": 0, "created_at": now, "updated_at": now}
                for p in new])
            conn.execute(insert(command_events), [{"command_id": p.id, "at": now, "status": CommandStatus.QUEUED.value,
                                                   "detail": f"accepted from {client.name}"} for p in new])
            stage(conn, QUEUE, [{"command": str(p.id), "kind": p.kind.value} for p in new])
        ids = [actual.get(p.id, p.id) for p in planned]
        if idempotency_key is not None:
            conn.execute(insert(command_requests).values(
                client_name=client.name, idempotency_key=idempotency_key, request_hash=body_hash,
                command_ids=[str(i) for i in ids], created_at=utc_now()))
        return ids

    # -- reading -----------------------------------------------------------------------------------------

    def _summaries(self, ids: Sequence[uuid.UUID]) -> list[CommandSummary]:
        with self.db.engine.connect() as conn:
            rows = {r.id: r for r in conn.execute(select(commands).where(commands.c.id.in_(list(ids))))}
        return [_summary(rows[i]) for i in ids]

    def get(self, command_id: uuid.UUID) -> CommandView:
        with self.db.engine.connect() as conn:
            row = conn.execute(select(commands).where(commands.c.id == command_id)).first()
            if row is None:
                raise NotFound(f"no command {command_id}")
            events = conn.execute(select(command_events).where(command_events.c.command_id == command_id)
                                  .order_by(command_events.c.id)).all()
            copy_of = list(conn.execute(select(commands.c.id).where(commands.c.linked_to == command_id)
                                        .order_by(commands.c.created_at, commands.c.id)).scalars())
        error = CommandError(code=row.error_code, detail=row.error_detail or "") if row.error_code else None
        return CommandView(
            **_summary(row).model_dump(), officer=row.officer, purpose=row.purpose, attempts=row.attempts,
            receipt=row.receipt, error=error, copy_of=copy_of, created_at=as_utc(row.created_at),
            updated_at=as_utc(row.updated_at), completed_at=as_utc(row.completed_at),
            history=[HistoryEntry(at=as_utc(e.at), status=_history_status(e.status), attempt=e.attempt,
                                  agency_ref=e.agency_ref, error_code=e.error_code, detail=e.detail) for e in events])

    def by_case(self, case_ref: str) -> list[CommandSummary]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(select(commands).where(commands.c.case_ref == case_ref.strip())
                                .order_by(commands.c.created_at, commands.c.id).limit(MAX_LISTED)).all()
        return [_summary(r) for r in rows]


def _summary(row: Any) -> CommandSummary:
    return CommandSummary(id=row.id, kind=row.kind, agency=row.agency, target=row.target, case_ref=row.case_ref,
                          decision_ref=row.decision_ref, status=row.status, agency_ref=row.agency_ref,
                          linked_to=row.linked_to, url=command_url(row.id))


def _history_status(value: str) -> CommandStatus | Literal["confirmed"]:
    return "confirmed" if value == CONFIRMED else CommandStatus(value)
