"""The case systems' feed of new intake records (GET /v1/judgments?after=<cursor>): each once, in order.

An autoincrement id is not a safe cursor: ids are taken when transactions start, rows become visible
when they commit, so a reader can see id 11, move its cursor past it, and never see id 10 that commits
a moment later. Feed positions are therefore given *after* commit: the reader numbers every committed,
unnumbered intake under a lock (PostgreSQL advisory lock; SQLite has one writer anyway) before it reads,
so whatever commits later gets a later position than anything already read.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, func, select, text, update

from hub.inbound.intake_store import record_from_row
from hub.model.intake import IntakeRecord
from hub.store.database import Database
from hub.store.tables import intakes

_LOCK_KEY = 0x7468616473_01  # "thads" + feed number one, a stable advisory lock id
_NUMBER_PAGE = 5000
MAX_PAGE = 500


def number_new(conn: Connection) -> int:
    """Give feed positions to committed intakes that have none, oldest first; returns how many."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    ids = [r.id for r in conn.execute(select(intakes.c.id).where(intakes.c.feed_seq.is_(None))
                                      .order_by(intakes.c.received_at, intakes.c.id).limit(_NUMBER_PAGE))]
    if not ids:
        return 0
    top = int(conn.execute(select(func.coalesce(func.max(intakes.c.feed_seq), 0))).scalar_one())
    conn.execute(update(intakes).where(intakes.c.id == bindparam("intake_id")).values(feed_seq=bindparam("seq")),
                 [{"intake_id": intake_id, "seq": top + n} for n, intake_id in enumerate(ids, start=1)])
    return len(ids)


def page(db: Database, after: int, limit: int) -> list[IntakeRecord]:
    """The intake records after position ``after``, at most ``limit``, in feed order."""
    with db.begin() as conn:
        while number_new(conn) == _NUMBER_PAGE:
            pass
    with db.engine.connect() as conn:
        rows = conn.execute(select(intakes).where(intakes.c.feed_seq > after).order_by(intakes.c.feed_seq)
                            .limit(limit)).all()
        return [record_from_row(conn, row) for row in rows]
