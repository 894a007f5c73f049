"""Gap-free numbers per office, year and series (case references, receipt numbers).

The counter row is incremented in the caller's transaction: the number is only taken if that
transaction commits, and concurrent transactions of the same office queue on the row's lock, so the
numbers in use are 1..n with no hole and no repeat. A sequence would be faster and leave gaps.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from hub.store.tables import office_counters


def next_number(conn: Connection, office_code: str, year: int, series: str) -> int:
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(insert(office_counters).values(office_code=office_code, year=year, series=series, last=0)
                 .on_conflict_do_nothing())
    where = ((office_counters.c.office_code == office_code) & (office_counters.c.year == year)
             & (office_counters.c.series == series))
    conn.execute(update(office_counters).where(where).values(last=office_counters.c.last + 1))
    return int(conn.execute(select(office_counters.c.last).where(where)).scalar_one())
