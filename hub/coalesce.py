"""Work that arrives while a batch is on its way waits, and goes together with the next batch.

The hub's writes that each wait for a round trip (a commit of the message log, a commit of command rows,
an acknowledgment on a Redis stream) come in bursts from concurrent tasks. Sending each alone costs a
round trip, and a commit, each; here a burst costs one. Under no load a batch holds a single item, so
nothing waits longer than it would alone. Used by the message log's group commit, the command rows'
shared commit and the worker's acknowledgments.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# ``send(items)`` answers each item of a batch, in order: its result, or an exception for that item alone.
Send = Callable[[list[T]], Awaitable[Sequence[Any]]]


class Coalescer(Generic[T, R]):
    """One per event loop. ``submit(item)`` resolves with the item's result once its batch is sent.

    ``take(waiting)`` says how many of the waiting items the next batch takes (at least one); by default all,
    up to ``max_batch``. A ``send`` that raises fails every item of its batch with that exception, unless
    ``split_failed`` is given: then a failed batch of several items is reported to it (its size, the error)
    and sent again one item at a time, so that one bad item (a row the database refuses) fails alone rather
    than the others that happened to share its transaction. The next batch goes on regardless.
    """

    def __init__(self, send: Send[T], *, max_batch: int = 200, take: Callable[[list[T]], int] | None = None,
                 split_failed: Callable[[int, Exception], None] | None = None) -> None:
        self._send = send
        self._take = take or (lambda waiting: min(len(waiting), max_batch))
        self._split_failed = split_failed
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._sender: asyncio.Task[None] | None = None
        self.batches = 0  # batches sent without raising, for tests and metrics

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            n = max(1, self._take([item for item, _ in self._waiting]))
            batch, self._waiting = self._waiting[:n], self._waiting[n:]
            outcomes = await self._send_batch([item for item, _ in batch])
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if future.done():  # the waiter went away (its own cancellation); what was sent stands regardless
                    continue
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)

    async def _send_batch(self, items: list[T]) -> Sequence[Any]:
        try:
            outcomes: Sequence[Any] = await self._send(items)
            if len(outcomes) != len(items):  # a bug in send: its waiters must hear of it, not wait for ever
                raise RuntimeError(f"{len(outcomes)} outcomes for a batch of {len(items)}")
        except Exception as exc:
            if self._split_failed is None or len(items) == 1:
                return [exc] * len(items)
            self._split_failed(len(items), exc)
            return [(await self._send_batch([item]))[0] for item in items]
        self.batches += 1
        return outcomes
