"""A command's row through its deliveries, on SQLite and PostgreSQL: who may claim it, what a repeat does, and
concurrent deliveries sharing their commits without one failing write taking the others down."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import insert, select

from hub.clients import add_client
from hub.commands import CommandService
from hub.commands.kinds import CommandStatus
from hub.commands.requests import RestrictionRequest
from hub.commands.shared_commit import Tx
from hub.commands.transitions import Busy, CommandRecords
from hub.model.decisions import AgencyReceipt, DecisionRef, Organ
from hub.model.measures import RestrictionKind
from hub.store.database import Database
from hub.store.tables import command_events, commands

OFFICE = Organ(organ_id="G12.HCM.079", name="Thi hành án dân sự Thành phố Hồ Chí Minh")


def _commands(database: Database, n: int) -> list[uuid.UUID]:
    client, _ = add_client(database, f"c-{uuid.uuid4().hex[:8]}", ["command:land"])
    made = CommandService(database).accept(client, RestrictionRequest(
        case_ref="THADS-79-2026-0042", officer="Lê Văn Tám", purpose="Kê biên",
        decision=DecisionRef(number="15", notation="QĐ-CCTHADS", issued_on="2026-11-20", office=OFFICE),
        restriction_kind=RestrictionKind.SEIZURE, certificate_serials=[f"CS{i:08d}" for i in range(n)]))
    return [c.id for c in made]


def _status(database: Database, command_id: uuid.UUID) -> str:
    with database.engine.connect() as conn:
        return str(conn.execute(select(commands.c.status).where(commands.c.id == command_id)).scalar_one())


def test_a_claimed_command_is_left_to_its_entry_and_an_acknowledged_one_to_nobody(database: Database) -> None:
    [command_id] = _commands(database, 1)
    records = CommandRecords(database)

    async def scenario() -> None:
        first = await records.claim(command_id, "1000-0")
        assert first is not None and first.attempt == 1 and first.agency == "land"
        with pytest.raises(Busy):
            await records.claim(command_id, "1001-0")  # a duplicate entry while the first is live
        again = await records.claim(command_id, "1000-0")  # the same entry, delivered again: its worker died
        assert again is not None and again.attempt == 2
        await records.acknowledge(command_id, "1000-0", AgencyReceipt(reference="DK-1"))
        assert await records.claim(command_id, "1001-0") is None
        assert await records.claim(command_id, "999-0") is None

    asyncio.run(scenario())
    assert _status(database, command_id) == "acknowledged"


def test_only_a_newer_entry_reopens_an_ended_command(database: Database) -> None:
    [command_id] = _commands(database, 1)
    records = CommandRecords(database)

    async def scenario() -> None:
        assert await records.claim(command_id, "2000-5") is not None
        await records.end(command_id, "2000-5", CommandStatus.DEAD_LETTERED, "AGENCY_UNAVAILABLE", "gave up")
        assert await records.claim(command_id, "2000-4") is None  # an older duplicate
        assert await records.claim(command_id, "2000-5") is None  # the entry that ended it
        reopened = await records.claim(command_id, "2000-6")  # a replay
        assert reopened is not None and reopened.attempt == 2

    asyncio.run(scenario())
    with database.engine.connect() as conn:
        history = conn.execute(select(command_events.c.status, command_events.c.detail)
                               .where(command_events.c.command_id == command_id).order_by(command_events.c.id)).all()
    assert [h.status for h in history] == ["queued", "sent", "dead_lettered", "sent"]
    assert history[-1].detail == "reopened by a replayed entry"


def test_concurrent_deliveries_share_commits_and_a_failing_write_fails_alone(database: Database) -> None:
    ids = _commands(database, 30)
    records = CommandRecords(database)

    def broken(tx: Tx) -> None:
        tx.conn.execute(insert(command_events).values(command_id=ids[0], at=None, status="queued"))  # NOT NULL

    async def scenario() -> list[object]:
        claims = await asyncio.gather(*(records.claim(i, f"3000-{n}") for n, i in enumerate(ids)))
        assert all(c is not None for c in claims)
        assert records.shared.commits < len(ids)
        return await asyncio.gather(records.shared.run(broken), *(
            records.acknowledge(i, f"3000-{n}", AgencyReceipt(reference=f"DK-{n}")) for n, i in enumerate(ids)),
            return_exceptions=True)

    outcomes = asyncio.run(scenario())
    assert isinstance(outcomes[0], Exception) and outcomes[1:] == [None] * len(ids)
    assert {_status(database, i) for i in ids} == {"acknowledged"}


def _history(database: Database, command_id: uuid.UUID) -> list[tuple[str, int | None, str | None]]:
    with database.engine.connect() as conn:
        return [(r.status, r.attempt, r.agency_ref) for r in conn.execute(
            select(command_events).where(command_events.c.command_id == command_id).order_by(command_events.c.id))]


def test_claims_and_acknowledgments_taken_together_in_one_batch_act_as_if_one_by_one(database: Database) -> None:
    # Every write below lands in one shared transaction: the claims take their common case in one statement,
    # the acknowledgments are written at its end. Each must still come out as it would alone.
    ids = _commands(database, 6)
    records = CommandRecords(database)

    async def scenario() -> tuple[list[object], list[object]]:
        claims = await asyncio.gather(
            *(records.claim(i, f"5000-{n}") for n, i in enumerate(ids)),
            records.claim(ids[0], "5001-0"),  # a duplicate entry of a command claimed in the same batch
            records.claim(uuid.uuid4(), "5002-0"),  # a command that does not exist
            return_exceptions=True)
        acks = await asyncio.gather(
            records.acknowledge(ids[1], "5000-1", AgencyReceipt(reference="DK-1")),
            records.acknowledge(ids[1], "5001-1", AgencyReceipt(reference="DK-1b")),  # heard twice: first wins
            records.acknowledge(ids[2], "5000-2", AgencyReceipt(reference="DK-2")),
            records.claim(ids[2], "5003-2"),  # acknowledged in this same batch: still owned, so busy
            return_exceptions=True)
        return claims, acks

    claims, acks = asyncio.run(scenario())
    assert records.shared.commits == 2  # one transaction for each gather
    taken = claims[:6]
    assert all(c is not None and not isinstance(c, BaseException) and c.attempt == 1 for c in taken)
    assert [c.id for c in taken] == ids  # type: ignore[union-attr]
    assert isinstance(claims[6], Busy) and claims[7] is None
    assert acks[:3] == [None, None, None] and isinstance(acks[3], Busy)
    assert _history(database, ids[1]) == [("queued", None, None), ("sent", 1, None), ("acknowledged", None, "DK-1")]
    assert _history(database, ids[0]) == [("queued", None, None), ("sent", 1, None)]
    with database.engine.connect() as conn:
        row = conn.execute(select(commands).where(commands.c.id == ids[1])).one()
    assert (row.status, row.agency_ref, row.closed_by_entry) == ("acknowledged", "DK-1", "5000-1")
    assert row.owner_entry is None
    assert [_status(database, i) for i in ids] == ["sent", "acknowledged", "acknowledged", "sent", "sent", "sent"]
