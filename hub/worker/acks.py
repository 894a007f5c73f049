"""Acknowledgments of entries that finish together go to Redis together.

A busy worker finishes its entries in bursts: the deliveries whose state changes shared one commit resume
in the same turn of the event loop. Acknowledging each alone costs one round trip each, and redis-py's
own work per call was a tenth of a busy worker's time. Here the acknowledgments that arrive while one call
is on its way wait for the next (``hub.coalesce``), and go in one atomic script call.
"""

from __future__ import annotations

from hub.coalesce import Coalescer
from hub.worker.streams import WorkQueue

# One script call holds Redis for its length; a burst larger than this is split.
MAX_BATCH = 256


class AckBatcher:
    """One per queue and event loop; ``ack`` resolves once the entry is acknowledged and deleted, with
    whether it was still pending (like ``WorkQueue.ack``). A failed call fails each acknowledgment it
    carried: those entries stay pending and come round again."""

    def __init__(self, queue: WorkQueue) -> None:
        self.queue = queue
        self._calls: Coalescer[str, bool] = Coalescer(self._send, max_batch=MAX_BATCH)

    @property
    def calls(self) -> int:
        """Script calls made, for tests."""
        return self._calls.batches

    async def ack(self, entry_id: str) -> bool:
        return await self._calls.submit(entry_id)

    async def _send(self, entry_ids: list[str]) -> list[bool]:
        acked = await self.queue.ack_many(entry_ids)
        return [entry_id in acked for entry_id in entry_ids]
