"""End to end, in separate processes: the sandbox court pushes 200 judgments, 10% of them twice, to a hub
that is restarted midway; a subscriber that fails 10% of its deliveries receives them through the outbox.
The court sends again what was not acknowledged (as a court that lost an answer does). In the end the store
holds each judgment once and the subscriber has every one."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from hub.agencies import write_agencies
from hub.clients import add_client
from hub.settings import Settings
from hub.store.database import Database
from hub.store.migrate import upgrade
from hub.store.tables import intakes, judgments
from sandbox_mocks.court import judgment_push_items, soap_sender
from sandbox_mocks.framework.pusher import Ack, PushItem, push
from sandbox_mocks.seed.world import build_world
from tests.conftest import free_port
from tests.inbound.conftest import agencies_config
from tests.inbound.processes import Process, WorkerThread, hub_process, subscriber_process

JUDGMENTS = 200


def settled(ack: Ack) -> bool:
    return ack.acknowledged or ack.code == "DUPLICATE"


def test_pushes_through_a_restart_are_stored_once_and_every_one_reaches_the_subscriber(
        settings: Settings, pg_url: str, key_dir: Path, tmp_path: Path) -> None:
    settings = settings.model_copy(update={"database_url": pg_url, "key_dir": key_dir,
                                           "agencies_file": tmp_path / "agencies.toml"})
    write_agencies(settings.agencies, agencies_config(key_dir))
    upgrade(pg_url)
    db = Database(pg_url)
    world = build_world(seed=11, citizens=4000)
    assert len(world.judgments) >= JUDGMENTS
    items = judgment_push_items(world, key_dir, count=JUDGMENTS)
    hub_port, sub_port = free_port(), free_port()
    hub_url = f"http://127.0.0.1:{hub_port}"
    out = tmp_path / "deliveries.jsonl"
    hub = hub_process(settings, hub_port, tmp_path / "hub.log").start()
    subscriber = subscriber_process(sub_port, out, key_dir, tmp_path / "subscriber.log").start()
    try:
        _, key = add_client(db, "case-system", ["cases:read"])
        created = httpx.post(f"{hub_url}/v1/subscriptions", json={"url": f"http://127.0.0.1:{sub_port}/hook"},
                             headers={"authorization": f"Bearer {key}"})
        assert created.status_code == 201, created.text
        with WorkerThread(settings):
            outcomes = asyncio.run(push_with_restart(items, f"{hub_url}/soap/court", hub))
            assert any(not settled(a) for a in outcomes["during"]), "the restart refused nothing: not a restart"
            assert all(outcomes["final"].values()), "some judgment was never acknowledged"
            deadline = time.monotonic() + 60
            while kept(out) < JUDGMENTS and time.monotonic() < deadline:
                time.sleep(0.2)
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        with db.engine.connect() as conn:
            stored = conn.execute(select(func.count()).select_from(judgments)).scalar_one()
            intake_ids = {str(r.id) for r in conn.execute(select(intakes.c.id))}
            numbers = conn.execute(select(func.count(func.distinct(judgments.c.number_text)))).scalar_one()
        assert stored == JUDGMENTS == len(intake_ids) == numbers
        assert len(lines) == JUDGMENTS and {line["intake_id"] for line in lines} == intake_ids
        assert len({line["delivery_id"] for line in lines}) == JUDGMENTS
    finally:
        subscriber.stop()
        hub.stop()
        db.dispose()


def kept(out: Path) -> int:
    return len(out.read_text().splitlines()) if out.exists() else 0


async def push_with_restart(items: list[PushItem], url: str, hub: Process) -> dict[str, Any]:
    """Push everything (10% twice) while the hub restarts after a third of the sends; then send again, as the
    court would, every message not yet acknowledged, until each is."""
    send, close = soap_sender(url, timeout_s=10)
    sent = 0
    restarted = asyncio.Event()

    loop = asyncio.get_running_loop()

    def restart() -> None:  # off the loop: the pushes go on (and fail) while the hub is down
        hub.restart()
        loop.call_soon_threadsafe(restarted.set)

    async def counting(item: PushItem) -> Ack:
        nonlocal sent
        sent += 1
        if sent == len(items) // 3:
            loop.run_in_executor(None, restart)
        return await send(item)

    try:
        report = await push(items, counting, rate_per_s=100, repeat_share=0.1, seed=2, concurrency=8)
        await asyncio.wait_for(restarted.wait(), 60)
        final = {i.item_id: False for i in items}
        for outcome in report.outcomes:
            final[outcome.item_id] |= settled(outcome.ack)
        for _ in range(5):
            missing = [i for i in items if not final[i.item_id]]
            if not missing:
                break
            again = await push(missing, send, rate_per_s=100, concurrency=8)
            for outcome in again.outcomes:
                final[outcome.item_id] |= settled(outcome.ack)
            await asyncio.sleep(0.5)
        return {"during": [o.ack for o in report.outcomes], "final": final}
    finally:
        await close()
