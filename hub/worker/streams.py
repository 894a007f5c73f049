"""A bounded work queue over one Redis stream and one consumer group, with its dead-letter stream.

The stream holds only open work: ``ack`` removes an entry (XACK and XDEL in one transaction) once its
effect is recorded, and dead-lettering moves it out. So the stream's length is the backlog (waiting
plus in-flight plus waiting for a retry), the capacity check is one XLEN, and Redis memory follows
the backlog rather than the queue's history. Trimming by MAXLEN is never used: it would drop work
nobody has done.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from redis import Redis as SyncRedis
from redis.exceptions import ResponseError

from hub.errors import HubError, NotFound
from hub.worker import stream_scripts

DEFAULT_GROUP = "workers"
DEFAULT_CAPACITY = 100_000
# Entries per enqueue script call: each call holds Redis for its length (about a millisecond per thousand).
ENQUEUE_CHUNK = 10_000
# Rows of the pending list looked at per claim round; more than one round's free slots, so entries
# still backing off at the head of the list do not hide due ones behind them.
_SCAN_PAGE = 200


class QueueFull(HubError):
    default_code = "QUEUE_FULL"


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    fields: dict[str, str]
    deliveries: int  # times Redis handed this entry to a consumer, this delivery included


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: str
    origin_id: str
    reason: str
    deliveries: int
    consumer: str
    failed_at: str
    fields: dict[str, str]


@dataclass(frozen=True, slots=True)
class ClaimPage:
    entries: list[Entry]
    next_start: str | None  # where the next scan of the pending list starts; None: the scan reached its end


@dataclass(frozen=True, slots=True)
class Renewal:
    kept: set[str]
    taken: set[str]  # pending for another consumer: taken over while this one held it


@dataclass(frozen=True, slots=True)
class QueueStats:
    name: str
    backlog: int  # entries in the stream: not yet delivered, in flight, or waiting for a retry
    pending: int  # delivered and not yet acknowledged
    lag: int | None  # not yet delivered (None when Redis cannot tell)
    consumers: int
    dead_letters: int


# redis-py types its replies as unions of every shape a command can return; these take what this
# module's commands do return (bytes, since the hub's clients do not decode) and make it text.
def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _fields(raw: Any) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in raw.items()}


def _flat(fields: Mapping[str, str]) -> list[str]:
    if not fields:
        raise ValueError("a queue entry needs at least one field")
    return [str(x) for pair in fields.items() for x in pair]


class WorkQueue:
    def __init__(self, redis: aioredis.Redis, key_prefix: str, name: str, *, group: str = DEFAULT_GROUP,
                 capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.redis, self.name, self.group, self.capacity = redis, name, group, capacity
        self.key = f"{key_prefix}queue:{name}"
        self.dlq_key = f"{self.key}:dlq"
        self._enqueue = redis.register_script(stream_scripts.ENQUEUE)
        self._ack = redis.register_script(stream_scripts.ACK)
        self._renew = redis.register_script(stream_scripts.RENEW)
        self._dead_letter = redis.register_script(stream_scripts.DEAD_LETTER)
        self._replay = redis.register_script(stream_scripts.REPLAY)
        self._forget = redis.register_script(stream_scripts.FORGET_CONSUMER)
        self._group_ready = False

    async def ensure_group(self) -> None:
        """Create the stream and its group. From id 0, so work enqueued before any worker ever ran is
        delivered too."""
        try:
            await self.redis.xgroup_create(self.key, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    # -- producing ---------------------------------------------------------------------------------

    async def enqueue(self, fields: Mapping[str, str]) -> str:
        return (await self.enqueue_many([fields]))[0]

    async def enqueue_many(self, batch: Iterable[Mapping[str, str]]) -> list[str]:
        """Add entries, all or none: QueueFull when they do not all fit under the capacity.

        One script call per chunk of ``ENQUEUE_CHUNK`` entries, so a huge batch does not hold Redis for
        its whole length; the first chunk checks room for the whole batch. Only another producer
        filling the queue between two chunks can then refuse a later one: the chunks already added
        are taken back (a worker may have started one of them already; handlers must tolerate an
        entry whose producer rolled back).
        """
        calls = self._enqueue_calls(batch)
        if calls and not self._group_ready:
            await self.ensure_group()
        ids: list[str] = []
        for args in calls:
            added = await self._enqueue(keys=[self.key], args=args)
            if added is None:
                if ids:
                    async with self.redis.pipeline(transaction=True) as pipe:
                        self._take_back(pipe, ids)
                        await pipe.execute()
                raise self._full(await self.redis.xlen(self.key), int(args[1]))
            ids += [_text(i) for i in added]
        return ids

    def enqueue_many_sync(self, redis_sync: SyncRedis, batch: Iterable[Mapping[str, str]]) -> list[str]:
        """``enqueue_many`` over a synchronous client, for a producer inside a synchronous transaction
        (the API's database work runs in threads)."""
        calls = self._enqueue_calls(batch)
        if calls and not self._group_ready:
            try:
                redis_sync.xgroup_create(self.key, self.group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
            self._group_ready = True
        script = redis_sync.register_script(stream_scripts.ENQUEUE)
        ids: list[str] = []
        for args in calls:
            added = script(keys=[self.key], args=args)
            if added is None:
                if ids:
                    with redis_sync.pipeline(transaction=True) as sync_pipe:
                        self._take_back(sync_pipe, ids)
                        sync_pipe.execute()
                raise self._full(int(redis_sync.xlen(self.key)), int(args[1]))
            ids += [_text(i) for i in added]
        return ids

    def _enqueue_calls(self, batch: Iterable[Mapping[str, str]]) -> list[list[Any]]:
        """The ENQUEUE script's arguments, one list per chunk."""
        encoded = [json.dumps(_flat(fields), ensure_ascii=False) for fields in batch]
        return [[self.capacity, len(encoded) - start, *encoded[start:start + ENQUEUE_CHUNK]]
                for start in range(0, len(encoded), ENQUEUE_CHUNK)]

    def _take_back(self, pipe: Any, ids: list[str]) -> None:
        pipe.xack(self.key, self.group, *ids)
        pipe.xdel(self.key, *ids)

    def _full(self, backlog: int, wanted: int) -> QueueFull:
        return QueueFull(f"queue {self.name!r} holds {backlog} open entries of {self.capacity}; {wanted} more "
                         "do not fit", rule="queue_capacity", queue=self.name, backlog=backlog, capacity=self.capacity)

    # -- consuming ---------------------------------------------------------------------------------

    async def read(self, consumer: str, count: int, block_ms: int | None = None) -> list[Entry]:
        """Entries never delivered before, at most ``count``; waits up to ``block_ms`` when none."""
        try:
            reply: Any = await self.redis.xreadgroup(self.group, consumer, {self.key: ">"}, count=count, block=block_ms)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group()  # the stream was deleted under us (an operator, a test)
            return []
        rows: Any = reply[0][1] if reply else []  # one stream asked: [[key, [(id, fields), ...]]]
        return [Entry(_text(eid), _fields(raw), 1) for eid, raw in rows]

    async def claim_stale(self, consumer: str, *, min_idle_ms: int, count: int, owner: str | None = None,
                          due_after_ms: Callable[[str, int], int] | None = None, start: str = "-") -> ClaimPage:
        """Take over at most ``count`` pending entries idle for at least ``min_idle_ms`` (and, per entry,
        ``due_after_ms(id, deliveries)``), oldest first from ``start``; only ``owner``'s when given.

        XPENDING lists the candidates with their idle time and delivery count; each XCLAIM repeats its
        entry's idle threshold, so an entry another worker claimed or renewed in between is skipped by
        Redis itself. XAUTOCLAIM cannot do this: it applies one idle threshold to every entry, and the
        per-entry threshold is what lets a failed entry wait out its own backoff.
        """
        if count < 1:
            return ClaimPage([], start)
        rows: Any = await self.redis.xpending_range(self.key, self.group, start, "+", _SCAN_PAGE,
                                               consumername=owner, idle=min_idle_ms)
        due: list[tuple[str, int, int]] = []  # id, deliveries so far, idle threshold
        for row in rows:
            eid, deliveries = _text(row["message_id"]), int(row["times_delivered"])
            threshold = max(min_idle_ms, due_after_ms(eid, deliveries) if due_after_ms else 0)
            if int(row["time_since_delivered"]) >= threshold:
                due.append((eid, deliveries, threshold))
                if len(due) == count:
                    break
        if len(due) == count:
            next_start: str | None = f"({due[-1][0]}"
        else:
            next_start = f"({_text(rows[-1]['message_id'])}" if len(rows) == _SCAN_PAGE else None
        if not due:
            return ClaimPage([], next_start)
        async with self.redis.pipeline(transaction=False) as pipe:
            for eid, _, threshold in due:
                pipe.xclaim(self.key, self.group, consumer, threshold, [eid])
            replies = await pipe.execute()
        deliveries_of = {eid: n for eid, n, _ in due}
        entries = [Entry(_text(eid), _fields(raw), deliveries_of[_text(eid)] + 1)
                   for reply in replies for eid, raw in reply if raw is not None]
        return ClaimPage(entries, next_start)

    async def renew(self, consumer: str, ids: Iterable[str]) -> Renewal:
        """Reset the idle time of entries ``consumer`` still holds: those it still holds, and those another
        consumer has taken over (an entry acknowledged meanwhile is in neither)."""
        wanted = list(ids)
        if not wanted:
            return Renewal(set(), set())
        kept, taken = await self._renew(keys=[self.key], args=[self.group, consumer, *wanted])
        return Renewal({_text(i) for i in kept}, {_text(i) for i in taken})

    async def ack(self, entry_id: str) -> bool:
        """Done: acknowledged and deleted together. False when the entry was no longer pending (another
        worker finished it after taking it over; at-least-once, see docs/worker.md)."""
        return entry_id in await self.ack_many([entry_id])

    async def ack_many(self, entry_ids: Iterable[str]) -> set[str]:
        """``ack`` for several entries in one atomic step; returns those that were still pending."""
        ids = list(entry_ids)
        if not ids:
            return set()
        acked = await self._ack(keys=[self.key], args=[self.group, *ids])
        return {_text(i) for i in acked}

    async def dead_letter(self, entry: Entry, reason: str, consumer: str) -> str | None:
        """Move a pending entry to the dead-letter stream; None when it was no longer pending."""
        meta = {"origin_id": entry.id, "reason": reason, "deliveries": str(entry.deliveries), "consumer": consumer,
                "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "fields": json.dumps(_flat(entry.fields), ensure_ascii=False)}
        new_id = await self._dead_letter(keys=[self.key, self.dlq_key], args=[self.group, entry.id, *_flat(meta)])
        return _text(new_id) if new_id is not None else None

    async def forget_consumer(self, consumer: str) -> bool:
        """Remove an idle consumer from the group, only if it holds no pending entry."""
        try:
            return int(await self._forget(keys=[self.key], args=[self.group, consumer])) >= 0
        except ResponseError as exc:
            if "NOGROUP" in str(exc):
                return False
            raise

    # -- dead letters ------------------------------------------------------------------------------

    async def dead_letters(self, *, start: str = "-", count: int = 100) -> list[DeadLetter]:
        rows = await self.redis.xrange(self.dlq_key, min=start, max="+", count=count)
        return [_dead_letter(_text(eid), _fields(raw)) for eid, raw in rows or []]

    async def dead_letter_by_id(self, dlq_id: str) -> DeadLetter:
        rows: Any = await self.redis.xrange(self.dlq_key, min=dlq_id, max=dlq_id)
        if not rows:
            raise NotFound(f"no dead letter {dlq_id} in queue {self.name!r}", rule="dead_letter")
        return _dead_letter(dlq_id, _fields(rows[0][1]))

    async def replay(self, dlq_id: str) -> str:
        """Put a dead letter's original fields back on the queue (a new entry with fresh delivery
        counts) and delete the dead letter, in one step; refused like any enqueue when the queue is full."""
        if not self._group_ready:
            await self.ensure_group()
        reply = await self._replay(keys=[self.key, self.dlq_key], args=[self.capacity, dlq_id])
        if int(reply[0]) == 0:
            raise NotFound(f"no dead letter {dlq_id} in queue {self.name!r}", rule="dead_letter")
        if int(reply[0]) == 1:
            raise QueueFull(f"queue {self.name!r} is at its capacity of {self.capacity}; nothing replayed",
                            rule="queue_capacity", queue=self.name, capacity=self.capacity)
        return _text(reply[1])

    async def replay_all(self) -> int:
        """Replay every dead letter, oldest first; stops with QueueFull (carrying how many were
        replayed) when the queue fills."""
        done = 0
        while rows := await self.redis.xrange(self.dlq_key, min="-", max="+", count=100):
            for eid, _ in rows:
                try:
                    await self.replay(_text(eid))
                except NotFound:
                    continue  # replayed by someone else meanwhile
                except QueueFull as exc:
                    raise QueueFull(f"{exc.detail} after {done} were replayed", rule="queue_capacity",
                                    queue=self.name, capacity=self.capacity, replayed=done) from None
                done += 1
        return done

    async def stats(self) -> QueueStats:
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xlen(self.key)
            pipe.xlen(self.dlq_key)
            backlog, dead = await pipe.execute()
        pending, lag, consumers = 0, None, 0
        try:
            for group in await self.redis.xinfo_groups(self.key):
                if _text(group["name"]) == self.group:
                    pending, consumers = int(group["pending"]), int(group["consumers"])
                    lag = None if group.get("lag") is None else int(group["lag"])
        except ResponseError:  # no such stream yet
            pass
        return QueueStats(self.name, int(backlog), pending, lag, consumers, int(dead))


def _dead_letter(dlq_id: str, raw: dict[str, str]) -> DeadLetter:
    flat = json.loads(raw.get("fields", "[]"))
    return DeadLetter(id=dlq_id, origin_id=raw.get("origin_id", ""), reason=raw.get("reason", ""),
                      deliveries=int(raw.get("deliveries", "0")), consumer=raw.get("consumer", ""),
                      failed_at=raw.get("failed_at", ""), fields=dict(zip(flat[::2], flat[1::2], strict=True)))
