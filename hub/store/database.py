"""The durable store's entry point: one engine per process, transactions as context managers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text

from adapters.sql_engine import build_engine, is_sqlite


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = build_engine(url)
        self.is_sqlite = is_sqlite(url)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: everything inside commits together or not at all."""
        with self.engine.begin() as conn:
            yield conn

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
