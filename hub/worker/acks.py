"""Acknowledgments of entries that finish together go to Redis together.

A busy worker finishes its entries in bursts: the deliveries whose state changes shared one commit resume
in the same turn of the event loop. Acknowledging each alone costs one round trip each, and redis-py's
own work per call is a tenth of a busy worker's time. Here the acknowledgments that arrive while one call
is on its way wait for the next, and go in one atomic script call. Under no load a call carries a single
entry, so nothing waits longer than before.
"""

from __future__ import annotations

import asyncio

from hub.worker.streams import WorkQueue

# One script call holds Redis for its length; a burst larger than this is split.
MAX_BATCH = 256


class AckBatcher:
    """One per queue and event loop; ``ack`` resolves once the entry is acknowledged and deleted, with
    whether it was still pending (like ``WorkQueue.ack``)."""

    def __init__(self, queue: WorkQueue) -> None:
        self.queue = queue
        self._waiting: list[tuple[str, asyncio.Future[bool]]] = []
        self._sender: asyncio.Task[None] | None = None
        self.calls = 0  # script calls made, for tests

    async def ack(self, entry_id: str) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((entry_id, future))
        if self._sender is None or self._sender.done():
            self._sender = asyncio.create_task(self._send())
        return await future

    async def _send(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting[:MAX_BATCH], self._waiting[MAX_BATCH:]
            try:
                acked = await self.queue.ack_many(entry_id for entry_id, _ in batch)
            except Exception as exc:  # each waiter logs it; its entry stays pending and comes round again
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            self.calls += 1
            for entry_id, future in batch:
                if not future.done():  # the waiter went away (its own cancellation); the ack stands regardless
                    future.set_result(entry_id in acked)
