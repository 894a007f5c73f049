"""The transactional outbox against real Redis and both SQL backends: staged with the record or not at all,
published within the stream's capacity, once per row even with two relays, again after a relay died."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select, update

from hub.bootstrap import Services, build_services
from hub.outbox import stage
from hub.outbox.relay import OutboxRelay
from hub.settings import Settings
from hub.store.database import Database
from hub.store.tables import outbox
from hub.store.timestamps import utc_now
from hub.worker.streams import WorkQueue


@pytest.fixture
def services_settings(settings: Settings, database: Database) -> Settings:
    return settings.model_copy(update={"database_url": database.url,
                                       "redis_key_prefix": f"{settings.redis_key_prefix}{uuid.uuid4().hex[:8]}:"})


def _run(settings: Settings, scenario: Any) -> Any:
    async def main() -> Any:
        services = build_services(settings)
        try:
            return await scenario(services)
        finally:
            await services.aclose()
    return asyncio.run(main())


async def _drain(services: Services, queue: str, capacity: int = 10_000) -> list[dict[str, str]]:
    q = WorkQueue(services.redis, services.settings.redis_key_prefix, queue, capacity=capacity)
    await q.ensure_group()
    got: list[dict[str, str]] = []
    while entries := await q.read("test", 500, None):
        for e in entries:
            got.append(e.fields)
            await q.ack(e.id)
    return got


def _open_rows(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None)))
                   .scalar_one())


def test_only_committed_work_is_published(services_settings: Settings, database: Database) -> None:
    with pytest.raises(RuntimeError), database.begin() as conn:
        stage(conn, "q-a", [{"n": "rolled-back"}])
        raise RuntimeError("the record's transaction fails")
    with database.begin() as conn:
        stage(conn, "q-a", [{"n": str(i)} for i in range(3)])

    async def scenario(services: Services) -> list[dict[str, str]]:
        relay = OutboxRelay(services, "r1")
        assert await relay.publish_once() == 3
        assert await relay.publish_once() == 0
        return await _drain(services, "q-a")

    assert [e["n"] for e in _run(services_settings, scenario)] == ["0", "1", "2"]
    assert _open_rows(database) == 0


def test_a_full_stream_keeps_the_rest_in_sql(services_settings: Settings, database: Database) -> None:
    with database.begin() as conn:
        stage(conn, "q-b", [{"n": str(i)} for i in range(25)])

    async def scenario(services: Services) -> tuple[int, int, int]:
        relay = OutboxRelay(services, "r1", capacities={"q-b": 10}, chunk=5)
        first = await relay.publish_once()
        waiting = _open_rows(database)
        drained = len(await _drain(services, "q-b", capacity=10))
        while await relay.publish_once():
            drained += len(await _drain(services, "q-b", capacity=10))
        return first, waiting, drained

    first, waiting, drained = _run(services_settings, scenario)
    assert (first, waiting) == (10, 15)  # backpressure: the stream never held more than its capacity
    assert drained == 25


def test_two_relays_publish_each_row_once_and_a_dead_relays_rows_come_back(services_settings: Settings,
                                                                            database: Database) -> None:
    with database.begin() as conn:
        stage(conn, "q-c", [{"n": str(i)} for i in range(300)])

    async def scenario(services: Services) -> Counter[str]:
        dead = OutboxRelay(services, "dead", page=20, lease_s=600)
        claimed = await asyncio.to_thread(dead._claim)  # claims a page, then "dies" before publishing
        assert len(claimed) == 20
        a, b = OutboxRelay(services, "a", page=40), OutboxRelay(services, "b", page=40)
        while await asyncio.gather(a.publish_once(), b.publish_once()) != [0, 0]:
            pass
        assert _open_rows(database) == 20  # the dead relay's lease still holds its page
        with database.begin() as conn:  # its lease runs out (moved to the past rather than waited for)
            conn.execute(update(outbox).where(outbox.c.claimed_by == "dead")
                         .values(claimed_until=utc_now() - dt.timedelta(seconds=1)))
        while await a.publish_once():
            pass
        return Counter(e["n"] for e in await _drain(services, "q-c"))

    seen = _run(services_settings, scenario)
    assert len(seen) == 300 and set(seen.values()) == {1}
    assert _open_rows(database) == 0
