"""Acknowledgments that arrive together go to Redis together, each still answered for itself."""

from __future__ import annotations

import asyncio

from redis.exceptions import ConnectionError as RedisConnectionError

from hub.worker.acks import AckBatcher
from hub.worker.streams import WorkQueue
from tests.worker.test_streams import run


def test_acks_arriving_together_share_one_call_and_each_gets_its_answer(redis_prefix: str) -> None:
    async def test(q: WorkQueue) -> None:
        ids = await q.enqueue_many([{"n": str(i)} for i in range(20)])
        await q.read("w1", count=20)
        assert await q.ack(ids[0]) is True  # finished elsewhere first (a worker that took it over)
        acks = AckBatcher(q)
        answers = await asyncio.gather(*(acks.ack(i) for i in ids))
        assert answers == [False] + [True] * 19
        assert acks.calls == 1  # all twenty arrived before the call went: one script call
        more = await q.enqueue_many([{"n": str(i)} for i in range(5)])
        await q.read("w1", count=5)
        first = asyncio.create_task(acks.ack(more[0]))
        await asyncio.sleep(0.01)  # the first goes alone; the four arriving together share the next call
        assert await asyncio.gather(first, *(acks.ack(i) for i in more[1:])) == [True] * 5
        assert acks.calls == 3
        stats = await q.stats()
        assert (stats.backlog, stats.pending) == (0, 0)  # acknowledged and deleted
        assert await acks.ack(ids[5]) is False

    run(redis_prefix, 100, test)


def test_a_failed_call_fails_every_ack_it_carried_and_the_next_call_goes_on(redis_prefix: str) -> None:
    async def test(q: WorkQueue) -> None:
        ids = await q.enqueue_many([{"n": str(i)} for i in range(3)])
        await q.read("w1", count=3)
        acks = AckBatcher(q)
        real = q.ack_many
        calls = 0

        async def flaky(entry_ids):  # type: ignore[no-untyped-def]
            nonlocal calls
            calls += 1
            if calls == 1:
                raise RedisConnectionError("Redis went away")
            return await real(entry_ids)

        q.ack_many = flaky  # type: ignore[method-assign]
        answers = await asyncio.gather(*(acks.ack(i) for i in ids), return_exceptions=True)
        assert all(isinstance(a, RedisConnectionError) for a in answers)
        assert (await q.stats()).pending == 3  # not acknowledged: delivered again later, nothing lost
        assert await acks.ack(ids[1]) is True  # the batcher goes on with the next call
        assert (await q.stats()).pending == 2

    run(redis_prefix, 100, test)


def test_an_empty_ack_many_asks_nothing(redis_prefix: str) -> None:
    async def test(q: WorkQueue) -> None:
        assert await q.ack_many([]) == set()

    run(redis_prefix, 100, test)
