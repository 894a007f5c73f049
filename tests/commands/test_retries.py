"""Transient failures: a bank that is down gets the command again after a backoff, until the attempts run out
and the command is dead-lettered; replayed once the bank is back, it is acknowledged with one effect. A
duplicate entry of an acknowledged command asks nothing. The worker runs in-process here, with a handler
whose backoff is short (the real one waits minutes)."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis

from hub.bootstrap import build_services
from hub.commands import QUEUE
from hub.commands.handler import CommandHandler
from hub.commands.transitions import CommandRecords
from hub.outbox.relay import companion as relay
from hub.worker.runtime import Worker
from hub.worker.streams import WorkQueue
from tests.commands.conftest import THADS, Rig, accountable, decision, trail
from tests.conftest import REDIS_URL
from tests.worker.support import until
from tests.worker.test_runtime import fast, running

BANK = "bank-970405"


class QuickCommandHandler(CommandHandler):
    max_attempts = 3
    retry_base_s = 0.2
    retry_max_s = 0.4
    call_timeout_s = 3.0


@asynccontextmanager
async def in_process_worker(rig: Rig) -> AsyncIterator[None]:
    services = build_services(rig.settings)
    try:
        async with running(Worker(services, [QuickCommandHandler(services)], fast("retries-w", lease_s=0.3),
                                  [relay(services, "retries-w")])):
            yield
    finally:
        await services.aclose()


async def _status_is(rig: Rig, command_id: str, status: str) -> bool:
    return (await asyncio.to_thread(rig.statuses, [command_id])).get(command_id) == status


def _freeze_at_the_bank(rig: Rig) -> tuple[str, str]:
    account = next(a for a in rig.fresh_accounts(40) if f"bank-{a.bank_bin}" == BANK)
    made = rig.accepted("/v1/commands/account-freezes", {**accountable(), "decision": decision(), "accounts": [
        {"bank_bin": account.bank_bin, "account_number": account.account_number, "amount_vnd": 1}]})
    return made[0]["id"], account.account_number


def test_an_outage_is_retried_then_dead_lettered_and_a_replay_acknowledges_it_once(rig: Rig) -> None:
    rig.faults(BANK, outage=True)
    command_id, account = _freeze_at_the_bank(rig)

    async def scenario() -> None:
        async with in_process_worker(rig):
            await until(lambda: _status_is(rig, command_id, "dead_lettered"), 30, "dead-lettered")
            rig.faults(BANK, outage=False)
            replay = await asyncio.to_thread(subprocess.run, [THADS, "dlq", "replay", QUEUE, "--all"], env=rig.env,
                                             capture_output=True, text=True, timeout=60)
            assert replay.returncode == 0, replay.stderr
            await until(lambda: _status_is(rig, command_id, "acknowledged"), 30, "acknowledged after the replay")

    asyncio.run(scenario())
    view = rig.command(command_id)
    history = trail(view)
    statuses = [h["status"] for h in history]
    assert statuses[:7] == ["queued", "sent", "queued", "sent", "queued", "sent", "dead_lettered"], statuses
    assert statuses[-2:] == ["sent", "acknowledged"]
    failures = [h for h in history[:7] if h["status"] in ("queued", "dead_lettered") and h["error_code"]]
    assert {h["error_code"] for h in failures} <= {"AGENCY_UNAVAILABLE", "CIRCUIT_OPEN"} and len(failures) == 3
    assert "gave up after 3 attempts" in history[6]["detail"]
    assert history[-2]["detail"] == "reopened by a replayed entry"
    assert view["error"] is None and view["agency_ref"]
    applied = [e for e in rig.recorder(BANK)["effects"]
               if e["kind"] == "freeze_applied" and e["account_number"] == account]
    assert [e["receipt"] for e in applied] == [view["agency_ref"]]
    assert not [d for d in rig.dead_letters() if d["fields"]["command"] == command_id]


def test_a_duplicate_entry_of_an_acknowledged_command_asks_the_agency_nothing(rig: Rig) -> None:
    command_id, _ = _freeze_at_the_bank(rig)

    async def scenario() -> None:
        async with in_process_worker(rig):
            await until(lambda: _status_is(rig, command_id, "acknowledged"), 30, "acknowledged")
            asked = len(rig.recorder(BANK)["received"])
            redis = aioredis.Redis.from_url(REDIS_URL)
            queue = WorkQueue(redis, rig.settings.redis_key_prefix, QUEUE)
            try:
                await queue.enqueue({"command": command_id, "kind": "account_freeze"})  # as a relay publishing twice
                await until(lambda: _backlog_empty(queue), 10, "the duplicate handled")
            finally:
                await redis.aclose()
            assert len(rig.recorder(BANK)["received"]) == asked

    asyncio.run(scenario())
    assert [h["status"] for h in trail(rig.command(command_id))] == ["queued", "sent", "acknowledged"]


async def _backlog_empty(queue: WorkQueue) -> bool:
    return (await queue.stats()).backlog == 0


def test_a_command_whose_workers_keep_dying_ends_dead_lettered_not_sent(rig: Rig) -> None:
    """Three workers took the entry and died on it, the last after claiming the command: the next worker
    dead-letters the entry without delivering it, and the command ends dead-lettered (not "sent" for ever)."""
    command_id, account = _freeze_at_the_bank(rig)

    async def scenario() -> None:
        services = build_services(rig.settings)
        try:
            await relay(services, "dying").publish_once()
            queue = WorkQueue(services.redis, rig.settings.redis_key_prefix, QUEUE)
            await queue.ensure_group()
            (entry,) = [e for e in await queue.read("died-1", count=100) if e.fields["command"] == command_id]
            await queue.claim_stale("died-2", min_idle_ms=0, count=100)
            await queue.claim_stale("died-3", min_idle_ms=0, count=100)
            # the third died mid-delivery: the command is "sent", held by that entry (a lease that lapses)
            assert await CommandRecords(services.db, lease_s=0.2).claim(uuid.UUID(command_id), entry.id) is not None
            async with running(Worker(services, [QuickCommandHandler(services)], fast("survivor", lease_s=0.3))):
                await until(lambda: _status_is(rig, command_id, "dead_lettered"), 20, "dead-lettered")
        finally:
            await services.aclose()

    asyncio.run(scenario())
    view = rig.command(command_id)
    assert [h["status"] for h in trail(view)] == ["queued", "sent", "dead_lettered"]
    assert trail(view)[-1]["error_code"] == "INTERNAL"
    assert trail(view)[-1]["detail"].startswith("no outcome after 3 deliveries")
    assert [d for d in rig.dead_letters() if d["fields"]["command"] == command_id]
    assert not [e for e in rig.recorder(BANK)["effects"] if e.get("account_number") == account]
