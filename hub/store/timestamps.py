"""Timestamps cross the SQL boundary in UTC.

SQLite keeps no time zone and returns naive values; PostgreSQL returns aware ones. Writing UTC and
reading naive values as UTC makes both backends give back the same instant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload


@overload
def as_utc(value: datetime) -> datetime: ...
@overload
def as_utc(value: None) -> None: ...
def as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)
