"""The work queue against the real Redis: capacity, delivery counts, claims, dead letters, replay."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from hub.errors import NotFound
from hub.settings import Settings
from hub.worker.streams import Entry, QueueFull, Renewal, WorkQueue
from tests.conftest import REDIS_URL
from tests.worker.support import fresh_queue_name


async def _queue(prefix: str, capacity: int = 100) -> tuple[aioredis.Redis, WorkQueue]:
    client = aioredis.Redis.from_url(REDIS_URL)
    queue = WorkQueue(client, prefix, fresh_queue_name(), capacity=capacity)
    await queue.ensure_group()
    return client, queue


def run(prefix: str, capacity: int, test: Callable[[WorkQueue], Awaitable[None]]) -> None:
    async def main() -> None:
        client, queue = await _queue(prefix, capacity)
        try:
            await test(queue)
        finally:
            await client.delete(queue.key, queue.dlq_key)
            await client.aclose()

    asyncio.run(main())


def test_acknowledged_entries_leave_the_stream(redis_prefix: str) -> None:
    async def test(q: WorkQueue) -> None:
        ids = await q.enqueue_many([{"n": "1"}, {"n": "2"}, {"n": "3"}])
        got = await q.read("w1", count=2)
        assert [e.id for e in got] == ids[:2] and [e.fields for e in got] == [{"n": "1"}, {"n": "2"}]
        assert all(e.deliveries == 1 for e in got)
        assert await q.ack(ids[0]) is True
        assert await q.ack(ids[0]) is False  # twice is harmless, and says so
        stats = await q.stats()
        assert (stats.backlog, stats.pending, stats.lag) == (2, 1, 1)

    run(redis_prefix, 100, test)


def test_a_full_queue_refuses_and_never_drops_open_work(redis_prefix: str) -> None:
    async def test(q: WorkQueue) -> None:
        await q.enqueue_many([{"n": str(i)} for i in range(3)])
        with pytest.raises(QueueFull) as refused:
            await q.enqueue({"n": "3"})
        assert refused.value.code == "QUEUE_FULL" and refused.value.extra["backlog"] == 3
        first = await q.read("w1", count=1)  # delivered but not done: still open work, still counted
        with pytest.raises(QueueFull):
            await q.enqueue({"n": "3"})
        await q.ack(first[0].id)
        with pytest.raises(QueueFull):  # one free place, two asked: all or nothing
            await q.enqueue_many([{"n": "3"}, {"n": "4"}])
        assert (await q.stats()).backlog == 2
        await q.enqueue({"n": "3"})
        assert [e.fields["n"] for e in await q.read("w1", count=10)] == ["1", "2", "3"]

    run(redis_prefix, 3, test)


def test_fields_round_trip_in_vietnamese(redis_prefix: str) -> None:
    fields = {"ho_ten": "Nguyễn Văn Hoà", "dia_chi": "Phường Bến Nghé, TP. Hồ Chí Minh", "quote": 'a "b" \\ c'}

    async def test(q: WorkQueue) -> None:
        await q.enqueue(fields)
        (entry,) = await q.read("w1", count=1)
        assert entry.fields == fields
        await q.dead_letter(entry, "Từ chối", "w1")
        (dead,) = await q.dead_letters()
        assert dead.fields == fields and dead.reason == "Từ chối"
        await q.replay(dead.id)
        (again,) = await q.read("w1", count=1)
        assert again.fields == fields

    run(redis_prefix, 10, test)


def test_stale_entries_are_claimed_with_their_delivery_count(redis_prefix: str) -> None:
    async def test(q: WorkQueue) -> None:
        await q.enqueue_many([{"n": "1"}, {"n": "2"}])
        held = await q.read("dead", count=2)
        assert (await q.claim_stale("alive", min_idle_ms=60_000, count=10)).entries == []
        page = await q.claim_stale("alive", min_idle_ms=0, count=10)
        assert [(e.id, e.deliveries) for e in page.entries] == [(e.id, 2) for e in held]
        assert page.next_start is None
        # The old holder cannot renew what was taken from it and learns it was taken; the new one can.
        ids = {e.id for e in held}
        assert await q.renew("dead", ids) == Renewal(kept=set(), taken=ids)
        assert await q.renew("alive", ids) == Renewal(kept=ids, taken=set())
        # Acknowledged while a renewal was on its way: neither kept nor taken (no false alarm).
        done = held[0].id
        assert await q.ack(done)
        assert await q.renew("alive", ids) == Renewal(kept=ids - {done}, taken=set())
        # Just renewed: not idle long enough for anyone else.
        assert (await q.claim_stale("third", min_idle_ms=5_000, count=10)).entries == []

    run(redis_prefix, 10, test)


def test_claims_honour_each_entrys_own_due_time_and_owner(redis_prefix: str) -> None:
    async def test(q: WorkQueue) -> None:
        a, b = await q.enqueue_many([{"n": "a"}, {"n": "b"}])
        await q.read("w1", count=1)
        await q.read("w2", count=1)
        only_w1 = await q.claim_stale("w1", min_idle_ms=0, count=10, owner="w1")
        assert [e.id for e in only_w1.entries] == [a]
        waiting = await q.claim_stale("w3", min_idle_ms=0, count=10,
                                      due_after_ms=lambda eid, n: 0 if eid == b else 3_600_000)
        assert [(e.id, e.deliveries) for e in waiting.entries] == [(b, 2)]

    run(redis_prefix, 10, test)


def test_a_claim_takes_at_most_count_and_says_where_to_go_on(redis_prefix: str) -> None:
    async def test(q: WorkQueue) -> None:
        ids = await q.enqueue_many([{"n": str(i)} for i in range(3)])
        await q.read("dead", count=3)
        first = await q.claim_stale("alive", min_idle_ms=0, count=2)
        assert [e.id for e in first.entries] == ids[:2] and first.next_start == f"({ids[1]}"
        rest = await q.claim_stale("alive", min_idle_ms=0, count=2, start=first.next_start)
        assert [e.id for e in rest.entries] == ids[2:] and rest.next_start is None

    run(redis_prefix, 10, test)


def test_dead_letter_moves_once_and_replay_restores_once(redis_prefix: str) -> None:
    async def test(q: WorkQueue) -> None:
        await q.enqueue({"n": "1"})
        (entry,) = await q.read("w1", count=1)
        dlq_id = await q.dead_letter(Entry(entry.id, entry.fields, 3), "AgencyRejected: no such account", "w1")
        assert dlq_id is not None
        assert await q.dead_letter(entry, "again", "w2") is None  # a racing worker cannot add a second copy
        stats = await q.stats()
        assert (stats.backlog, stats.pending, stats.dead_letters) == (0, 0, 1)
        dead = await q.dead_letter_by_id(dlq_id)
        assert (dead.origin_id, dead.deliveries, dead.consumer, dead.fields) == (entry.id, 3, "w1", {"n": "1"})

        new_id = await q.replay(dlq_id)
        with pytest.raises(NotFound):
            await q.replay(dlq_id)  # a second operator replaying the same letter adds nothing
        with pytest.raises(NotFound):
            await q.dead_letter_by_id(dlq_id)
        (again,) = await q.read("w1", count=10)
        assert (again.id, again.fields, again.deliveries) == (new_id, {"n": "1"}, 1)

    run(redis_prefix, 10, test)


def test_replay_respects_capacity(redis_prefix: str) -> None:
    async def test(q: WorkQueue) -> None:
        await q.enqueue_many([{"n": "1"}, {"n": "2"}])
        for entry in await q.read("w1", count=2):
            await q.dead_letter(entry, "permanent", "w1")
        await q.enqueue({"n": "3"})
        with pytest.raises(QueueFull) as full:
            await q.replay_all()
        assert full.value.extra["replayed"] == 1
        stats = await q.stats()
        assert (stats.backlog, stats.dead_letters) == (2, 1)  # nothing lost on either side
        (entry,) = await q.read("w1", count=1)
        await q.ack(entry.id)
        assert await q.replay_all() == 1
        assert (await q.stats()).dead_letters == 0

    run(redis_prefix, 2, test)


def test_a_consumer_is_forgotten_only_when_it_holds_nothing(redis_prefix: str) -> None:
    async def test(q: WorkQueue) -> None:
        await q.enqueue({"n": "1"})
        (entry,) = await q.read("w1", count=1)
        assert await q.forget_consumer("w1") is False
        assert (await q.stats()).pending == 1
        await q.ack(entry.id)
        assert await q.forget_consumer("w1") is True
        assert (await q.stats()).consumers == 0

    run(redis_prefix, 10, test)


def test_work_enqueued_before_any_worker_is_delivered(settings: Settings) -> None:
    async def test(q: WorkQueue) -> None:
        await q.redis.delete(q.key)  # no stream, no group yet
        await WorkQueue(q.redis, settings.redis_key_prefix, q.name).enqueue({"n": "early"})
        assert [e.fields for e in await q.read("w1", count=5)] == [{"n": "early"}]
        await q.redis.delete(q.key)  # deleted under a running worker: the read recreates the group
        assert await q.read("w1", count=5) == []
        await q.enqueue({"n": "late"})
        assert [e.fields for e in await q.read("w1", count=5)] == [{"n": "late"}]

    run(settings.redis_key_prefix, 10, test)


def test_a_synchronous_producer_gets_the_same_rules(redis_prefix: str) -> None:
    import redis as sync_redis

    async def test(q: WorkQueue) -> None:
        client = sync_redis.Redis.from_url(REDIS_URL)
        try:
            fresh = WorkQueue(q.redis, redis_prefix, q.name, capacity=3)
            ids = fresh.enqueue_many_sync(client, ({"n": str(i)} for i in range(2)))
            with pytest.raises(QueueFull):
                fresh.enqueue_many_sync(client, [{"n": "2"}, {"n": "3"}])
        finally:
            client.close()
        assert [e.id for e in await q.read("w1", count=10)] == ids

    run(redis_prefix, 10, test)


def test_a_big_batch_goes_in_chunks_and_is_taken_back_if_a_rival_fills_the_queue(
        redis_prefix: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hub.worker.streams.ENQUEUE_CHUNK", 2)

    async def test(q: WorkQueue) -> None:
        ids = await q.enqueue_many([{"n": str(i)} for i in range(5)])
        assert len(ids) == 5 and (await q.stats()).backlog == 5
        for entry in await q.read("w1", count=5):
            await q.ack(entry.id)

        script, rival = q._enqueue, WorkQueue(q.redis, redis_prefix, q.name, capacity=5)

        async def rival_squeezes_in_after_the_first_chunk(*, keys: list[str], args: list[Any]) -> Any:
            added = await script(keys=keys, args=args)
            if args[1] == 5:
                await rival.enqueue({"n": "rival"})
                await rival.enqueue({"n": "rival"})
            return added

        q._enqueue = rival_squeezes_in_after_the_first_chunk  # type: ignore[assignment]
        with pytest.raises(QueueFull):
            await q.enqueue_many([{"n": str(i)} for i in range(5)])
        left = await q.read("w1", count=10)
        assert [e.fields["n"] for e in left] == ["rival", "rival"]  # the batch's first chunk was taken back
        assert (await q.stats()).backlog == 2

    run(redis_prefix, 5, test)
