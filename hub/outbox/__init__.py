"""The transactional outbox: queue work staged in the same SQL transaction as the record it serves.

A producer (a command accepted over the API, a batch's subjects) calls ``stage`` inside its own
transaction. Either both the record and its queue entries commit, or neither does: there is no moment
where the hub has said "accepted" but holds nothing to deliver, and no entry for a record that was
rolled back. The relay (``hub.outbox.relay``), run by every ``thads-hub worker``, moves staged rows to
their Redis stream as the stream's capacity allows, so a large backlog waits in SQL, not in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Connection, insert

from hub.store.tables import outbox
from hub.store.timestamps import utc_now

_CHUNK = 1000
_INSERT = insert(outbox)  # built once: building a statement costs more than running it


def stage(conn: Connection, queue: str, entries: Iterable[Mapping[str, str]]) -> int:
    """Stage entries for ``queue`` in the caller's transaction; returns how many."""
    now = utc_now()
    rows = [{"queue": queue, "fields": dict(e), "created_at": now} for e in entries]
    for start in range(0, len(rows), _CHUNK):
        conn.execute(_INSERT, rows[start:start + _CHUNK])
    return len(rows)


__all__ = ["stage"]
