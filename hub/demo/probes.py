"""What happened, as the witnesses tell it: each mock's recorder (what it received, what it did) and the
hub's message log (every exchange, one response entry each). A step's figures are the difference between
a snapshot taken before it and one taken after, so they count what really arrived, not what was sent."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import func, select

from hub.store.database import Database
from hub.store.tables import message_log

Exchange = tuple[str, str, str, str]  # direction, agency, operation, outcome


def agency_path(agency: str) -> str:
    """The sandbox prefix of an agency id: bank-970436 -> banks/970436."""
    return agency.replace("bank-", "banks/", 1)


@dataclass
class MockProbe:
    """Reads the sandbox agencies' ``/_admin`` endpoints."""

    sandbox: str
    client: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10))

    def recorder(self, agency: str) -> dict[str, list[dict[str, Any]]]:
        r = self.client.get(f"{self.sandbox}/{agency_path(agency)}/_admin/recorder")
        r.raise_for_status()
        data: dict[str, list[dict[str, Any]]] = r.json()
        return data

    def faults(self, agency: str, **changes: Any) -> dict[str, Any]:
        r = self.client.put(f"{self.sandbox}/{agency_path(agency)}/_admin/faults", json=changes)
        r.raise_for_status()
        data: dict[str, Any] = r.json()
        return data

    def reset_faults(self, agency: str) -> None:
        self.client.delete(f"{self.sandbox}/{agency_path(agency)}/_admin/faults").raise_for_status()

    def mark(self, agencies: list[str]) -> dict[str, tuple[int, int]]:
        """How many received entries and effects each agency holds now."""
        marks = {}
        for agency in agencies:
            rec = self.recorder(agency)
            marks[agency] = (len(rec["received"]), len(rec["effects"]))
        return marks

    def since(self, marks: dict[str, tuple[int, int]]
              ) -> tuple[dict[str, dict[str, list[dict[str, Any]]]], dict[str, tuple[int, int]]]:
        """What each agency received and did after ``marks``, and the marks of now: the next window starts
        where this one ends, so nothing recorded between two steps escapes both."""
        out, now = {}, {}
        for agency, (received, effects) in marks.items():
            rec = self.recorder(agency)
            out[agency] = {"received": rec["received"][received:], "effects": rec["effects"][effects:]}
            now[agency] = (len(rec["received"]), len(rec["effects"]))
        return out, now

    def close(self) -> None:
        self.client.close()


def received_counts(seen: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, dict[str, int]]:
    """agency -> "operation verdict" -> count, for the agencies that received anything."""
    return {agency: dict(Counter(f"{r['operation']} {r['verdict']}" for r in got["received"]))
            for agency, got in seen.items() if got["received"]}


def effect_counts(seen: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, dict[str, int]]:
    return {agency: dict(Counter(e["kind"] for e in got["effects"])) for agency, got in seen.items() if got["effects"]}


@dataclass
class LogProbe:
    """Counts the message log's exchanges (their response entries) by direction, agency, operation, outcome."""

    db: Database

    def exchanges(self) -> Counter[Exchange]:
        query = (select(message_log.c.direction, message_log.c.agency, message_log.c.operation,
                        message_log.c.outcome, func.count())
                 .where(message_log.c.kind == "response")
                 .group_by(message_log.c.direction, message_log.c.agency, message_log.c.operation,
                           message_log.c.outcome))
        with self.db.engine.connect() as conn:
            return Counter({(r[0], r[1], r[2], r[3]): int(r[4]) for r in conn.execute(query)})

    def entries(self) -> int:
        with self.db.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(message_log)).scalar_one())


def exchange_delta(before: Counter[Exchange], after: Counter[Exchange]) -> list[dict[str, Any]]:
    """The exchanges logged between two counts, one row per kind of exchange."""
    grown = after - before
    return [{"direction": d, "agency": a, "operation": o, "outcome": out, "count": n}
            for (d, a, o, out), n in sorted(grown.items())]
