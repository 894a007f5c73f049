"""Gap-free numbers per office, year and series (case references, receipt numbers).

The counter row is incremented in the caller's transaction: the number is only taken if that
transaction commits, and concurrent transactions of the same office queue on the row's lock, so the
numbers in use are 1..n with no hole and no repeat. A sequence would be faster and leave gaps.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hub.store.tables import office_counters


def _bump(insert: Any) -> Any:
    # One upsert statement: the first number of a year creates the row, every later one bumps it.
    return insert(office_counters).on_conflict_do_update(
        index_elements=[office_counters.c.office_code, office_counters.c.year, office_counters.c.series],
        set_={"last": office_counters.c.last + 1}).returning(office_counters.c.last)


_BUMP = {True: _bump(pg_insert), False: _bump(sqlite_insert)}  # built once per dialect


def next_number(conn: Connection, office_code: str, year: int, series: str) -> int:
    params = {"office_code": office_code, "year": year, "series": series, "last": 1}
    return int(conn.execute(_BUMP[conn.dialect.name == "postgresql"], params).scalar_one())
