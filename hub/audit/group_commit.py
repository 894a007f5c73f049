"""Group commit for the message log: concurrent exchanges share one transaction.

An exchange's entries must be durable before its answer is used (a look-up the log does not show must
not have happened), so every exchange waits for its commit. Committing each exchange alone costs one
fsync and one turn of the chain head's lock per exchange, and the exchanges of one verification (four
agencies answering within a millisecond of each other) then queue behind each other on that lock. Here
the entries that arrive while a commit is in flight wait for the next one and go together: one
transaction, one fsync, one head update, however many exchanges it carries. Under no load a batch is a
single exchange, so nothing waits longer than it did before.
"""

from __future__ import annotations

import asyncio
import logging

from hub.audit.log import LogRecord, MessageLog
from hub.coalesce import Coalescer

log = logging.getLogger("thads.audit")

# A bound on one transaction's size keeps a burst from holding the head lock (and other writers of the
# same partition) for long.
MAX_BATCH_RECORDS = 400


class GroupCommitter:
    """One per event loop; ``append`` resolves once the records are committed, with their positions. One bad
    exchange does not fail the others that happened to share its transaction: a failed batch is committed
    again one exchange at a time."""

    def __init__(self, log_: MessageLog, loop: asyncio.AbstractEventLoop) -> None:
        self.log = log_
        self.loop = loop
        self._transactions: Coalescer[list[LogRecord], list[tuple[int, int]]] = Coalescer(
            self._commit, take=_up_to_max_records, split_failed=_split)

    @property
    def commits(self) -> int:
        """Transactions written, for tests and metrics."""
        return self._transactions.batches

    async def append(self, records: list[LogRecord]) -> list[tuple[int, int]]:
        return await self._transactions.submit(records)

    async def _commit(self, batch: list[list[LogRecord]]) -> list[list[tuple[int, int]]]:
        positions = await asyncio.to_thread(self.log.append_many, [r for records in batch for r in records])
        outcomes, start = [], 0
        for records in batch:
            outcomes.append(positions[start:start + len(records)])
            start += len(records)
        return outcomes


def _up_to_max_records(waiting: list[list[LogRecord]]) -> int:
    """How many waiting exchanges the next transaction takes: at least one, then as many as fit."""
    taken, size = 0, 0
    for records in waiting:
        if taken and size + len(records) > MAX_BATCH_RECORDS:
            break
        taken, size = taken + 1, size + len(records)
    return taken


def _split(size: int, exc: Exception) -> None:
    log.warning("message log group commit of %d exchanges failed (%s); committing them one by one", size,
                type(exc).__name__)
