"""The relay: staged outbox rows to their Redis streams, in order, within each stream's capacity.

Several relays (one per worker process) may run at once. Each claims a page of rows for a short lease
before publishing, so they do not publish the same rows side by side; a relay that dies after
publishing and before marking leaves its rows to be published again when the lease runs out. The
entries are therefore delivered at least once, which every handler already tolerates (it keys its
effect on the record, not on the entry). A full stream stops its rows where they are: backpressure
stays in SQL and the producers keep accepting work.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, or_, select, update

from hub.bootstrap import Services
from hub.store.tables import outbox
from hub.store.timestamps import utc_now
from hub.worker.streams import DEFAULT_CAPACITY, QueueFull, WorkQueue

log = logging.getLogger("thads.outbox")


@dataclass
class _Row:
    id: int
    queue: str
    fields: dict[str, str]


class OutboxRelay:
    def __init__(self, services: Services, name: str, *, capacities: Mapping[str, int] | None = None,
                 page: int = 500, idle_s: float = 0.1, lease_s: float = 30.0, keep_published_s: float = 3600.0,
                 chunk: int = 100) -> None:
        self.services, self.name = services, name
        self.capacities = dict(capacities or {})
        self.page, self.idle_s, self.lease_s, self.chunk = page, idle_s, lease_s, chunk
        self.keep_published = dt.timedelta(seconds=keep_published_s)
        self._queues: dict[str, WorkQueue] = {}
        self.published = 0  # entries this relay put on streams, for tests and metrics
        self._rounds = 0

    def _queue(self, name: str) -> WorkQueue:
        if name not in self._queues:
            self._queues[name] = WorkQueue(self.services.redis, self.services.settings.redis_key_prefix, name,
                                           capacity=self.capacities.get(name, DEFAULT_CAPACITY))
        return self._queues[name]

    async def run(self, stopping: asyncio.Event) -> None:
        failures = 0
        while not stopping.is_set():
            try:
                moved = await self.publish_once()
                failures = 0
            except Exception as exc:  # a database or Redis outage: the rows wait, the worker keeps working
                failures += 1
                moved = 0
                log.warning("outbox relay %s: %s; trying again", self.name, exc)
            if moved == 0:
                with suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), self.idle_s * (2 ** min(failures, 5)))

    async def publish_once(self) -> int:
        """One page: claim, publish what fits, mark it, release the rest. Returns entries published."""
        rows = await asyncio.to_thread(self._claim)
        if not rows:
            return 0
        done: list[tuple[int, str]] = []
        blocked: list[int] = []
        by_queue: dict[str, list[_Row]] = {}
        for row in rows:
            by_queue.setdefault(row.queue, []).append(row)
        for name, queued in by_queue.items():
            queue = self._queue(name)
            for start in range(0, len(queued), self.chunk):
                part = queued[start:start + self.chunk]
                try:
                    ids = await queue.enqueue_many([r.fields for r in part])
                except QueueFull:
                    blocked += [r.id for r in queued[start:]]
                    break
                done += [(r.id, entry) for r, entry in zip(part, ids, strict=True)]
        await asyncio.to_thread(self._settle, done, blocked)
        self.published += len(done)
        return len(done)

    def _claim(self) -> list[_Row]:
        now = utc_now()
        with self.services.db.begin() as conn:
            open_rows = (select(outbox.c.id).where(
                outbox.c.published_at.is_(None),
                or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until < now))
                .order_by(outbox.c.id).limit(self.page))
            if conn.dialect.name == "postgresql":
                open_rows = open_rows.with_for_update(skip_locked=True)
            ids = [r.id for r in conn.execute(open_rows)]
            if not ids:
                return []
            conn.execute(update(outbox).where(outbox.c.id.in_(ids)).values(
                claimed_by=self.name, claimed_until=now + dt.timedelta(seconds=self.lease_s)))
            rows = conn.execute(select(outbox.c.id, outbox.c.queue, outbox.c.fields)
                                .where(outbox.c.id.in_(ids)).order_by(outbox.c.id)).all()
        return [_Row(r.id, r.queue, dict(r.fields)) for r in rows]

    def _settle(self, done: list[tuple[int, str]], blocked: list[int]) -> None:
        now = utc_now()
        with self.services.db.begin() as conn:
            if done:
                conn.execute(update(outbox).where(outbox.c.id == bindparam("row_id"))
                             .values(published_at=now, entry_id=bindparam("entry"), claimed_until=None),
                             [{"row_id": row_id, "entry": entry} for row_id, entry in done])
            if blocked:  # a full stream: give the rows back at once, to whichever relay finds room first
                conn.execute(update(outbox).where(outbox.c.id.in_(blocked), outbox.c.claimed_by == self.name)
                             .values(claimed_by=None, claimed_until=None))
            self._rounds += 1
            if self._rounds % 100 == 1:  # published rows are kept a while for inspection, then dropped
                conn.execute(delete(outbox).where(and_(outbox.c.published_at.is_not(None),
                                                       outbox.c.published_at < now - self.keep_published)))

    def backlog(self) -> dict[str, Any]:
        """Staged rows not yet on a stream, per queue (for `thads-hub workers` and metrics)."""
        with self.services.db.engine.connect() as conn:
            rows = conn.execute(select(outbox.c.queue, func.count()).where(outbox.c.published_at.is_(None))
                                .group_by(outbox.c.queue)).all()
        return {q: int(n) for q, n in rows}



def companion(services: Services, consumer: str) -> OutboxRelay:
    """The relay every ``thads-hub worker`` runs beside its handlers, named after the worker. Each queue's
    capacity is the one its handler declares, so the relay and the handler agree on the bound."""
    from hub.worker.registry import HANDLERS, declared_capacity

    return OutboxRelay(services, consumer, capacities={queue: declared_capacity(queue) for queue in HANDLERS})
