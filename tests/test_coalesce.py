"""The coalescer behind the group commit, the shared command commit and the batched acknowledgments."""

from __future__ import annotations

import asyncio

import pytest

from hub.coalesce import Coalescer


def test_items_arriving_while_a_batch_is_on_its_way_go_together_in_the_next() -> None:
    sent: list[list[int]] = []

    async def send(items: list[int]) -> list[object]:
        sent.append(items)
        await asyncio.sleep(0.02)  # the round trip: whatever arrives now waits for the next batch
        return [ValueError(f"no {i}") if i == 13 else i * 10 for i in items]

    async def scenario() -> tuple[list[object], Coalescer[int, int]]:
        c: Coalescer[int, int] = Coalescer(send)
        first = asyncio.create_task(c.submit(1))
        await asyncio.sleep(0.005)  # the first batch (one item) is on its way
        rest = await asyncio.gather(*(c.submit(i) for i in (2, 13, 4)), return_exceptions=True)
        return [await first, *rest], c

    results, c = asyncio.run(scenario())
    assert sent == [[1], [2, 13, 4]] and c.batches == 2
    assert results[:2] == [10, 20] and results[3] == 40
    assert isinstance(results[2], ValueError) and str(results[2]) == "no 13"  # that item's own failure only


def test_a_send_that_raises_fails_its_batch_and_the_next_batch_goes_on() -> None:
    calls = 0

    async def send(items: list[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("gone")
        return [s.upper() for s in items]

    async def scenario() -> tuple[list[object], str, Coalescer[str, str]]:
        c: Coalescer[str, str] = Coalescer(send)
        failed = await asyncio.gather(c.submit("a"), c.submit("b"), return_exceptions=True)
        return failed, await c.submit("c"), c

    failed, after, c = asyncio.run(scenario())
    assert all(isinstance(f, ConnectionError) for f in failed) and after == "C" and c.batches == 1


def test_take_bounds_a_batch_and_a_wrong_answer_count_fails_its_waiters() -> None:
    sent: list[list[int]] = []

    async def send(items: list[int]) -> list[int]:
        sent.append(items)
        return items if items[0] != 99 else []  # a bug: no answer at all for 99's batch

    async def scenario() -> tuple[list[object], list[object]]:
        c: Coalescer[int, int] = Coalescer(send, take=lambda waiting: 2)
        ok = await asyncio.gather(*(c.submit(i) for i in range(5)))
        bad = await asyncio.gather(c.submit(99), return_exceptions=True)
        return list(ok), bad

    ok, bad = asyncio.run(scenario())
    assert ok == [0, 1, 2, 3, 4] and sent[:3] == [[0, 1], [2, 3], [4]]
    assert isinstance(bad[0], RuntimeError)


def test_a_waiter_that_goes_away_does_not_stop_the_others() -> None:
    async def send(items: list[int]) -> list[int]:
        await asyncio.sleep(0.02)
        return items

    async def scenario() -> int:
        c: Coalescer[int, int] = Coalescer(send)
        gone = asyncio.create_task(c.submit(1))
        stays = asyncio.create_task(c.submit(2))
        await asyncio.sleep(0.005)
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        return await stays

    assert asyncio.run(scenario()) == 2


def test_with_split_failed_a_failed_batch_is_sent_again_one_item_at_a_time() -> None:
    sent: list[list[int]] = []
    reported: list[tuple[int, str]] = []

    async def send(items: list[int]) -> list[int]:
        sent.append(items)
        if 7 in items:  # one bad item sinks the whole batch it is in, as a refused row sinks a transaction
            raise ValueError("7 refused")
        return [i + 100 for i in items]

    async def scenario() -> tuple[list[object], Coalescer[int, int]]:
        c: Coalescer[int, int] = Coalescer(send, split_failed=lambda n, exc: reported.append((n, str(exc))))
        return await asyncio.gather(*(c.submit(i) for i in (5, 7, 9)), return_exceptions=True), c

    results, c = asyncio.run(scenario())
    assert results[0] == 105 and results[2] == 109 and isinstance(results[1], ValueError)
    assert sent == [[5, 7, 9], [5], [7], [9]] and reported == [(3, "7 refused")]
    assert c.batches == 2  # the two that went through alone
