"""`thads-hub dlq ...`, `thads-hub workers` and `thads-hub worker` as an operator types them."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from hub.bootstrap import Services
from hub.cli import app
from hub.settings import Settings
from hub.worker.heartbeat import beat
from hub.worker.streams import WorkQueue
from tests.worker.support import fresh_queue_name, with_services

runner = CliRunner()


def _dead_letters(settings: Settings, name: str, count: int) -> list[str]:
    async def fill(services: Services) -> list[str]:
        queue = WorkQueue(services.redis, settings.redis_key_prefix, name)
        await queue.enqueue_many([{"decision": f"QD-{i}/2025", "ho_ten": "Trần Thị Hoà"} for i in range(count)])
        ids = []
        for entry in await queue.read("w1", count=count):
            ids.append(await queue.dead_letter(entry, f"AgencyRejected [AGENCY_REJECTED]: account {entry.id} closed",
                                               "w1"))
        return [i for i in ids if i]

    return with_services(settings, fill)


def _stats(settings: Settings, name: str) -> tuple[int, int]:
    async def read(services: Services) -> tuple[int, int]:
        stats = await WorkQueue(services.redis, settings.redis_key_prefix, name).stats()
        return stats.backlog, stats.dead_letters

    return with_services(settings, read)


def test_dlq_list_show_replay(hub_env: Settings) -> None:
    name = fresh_queue_name("outbox")
    first, second, third = _dead_letters(hub_env, name, 3)

    listed = runner.invoke(app, ["dlq", "list", name])
    assert listed.exit_code == 0, listed.output
    assert first in listed.stdout and "3 dead letter(s) shown" in listed.stdout
    paged = runner.invoke(app, ["dlq", "list", name, "--after", first, "--limit", "1"])
    assert second in paged.stdout and first not in paged.stdout and third not in paged.stdout

    shown = json.loads(runner.invoke(app, ["dlq", "show", name, first]).stdout)
    assert shown["fields"] == {"decision": "QD-0/2025", "ho_ten": "Trần Thị Hoà"}
    assert shown["reason"].startswith("AgencyRejected [AGENCY_REJECTED]") and shown["deliveries"] == 1

    one = runner.invoke(app, ["dlq", "replay", name, first])
    assert one.exit_code == 0 and f"dead letter {first} replayed onto {name}" in one.stdout
    assert _stats(hub_env, name) == (1, 2)
    gone = runner.invoke(app, ["dlq", "show", name, first])
    assert gone.exit_code == 2 and "NOT_FOUND" in gone.output

    rest = runner.invoke(app, ["dlq", "replay", name, "--all"])
    assert rest.exit_code == 0 and "2 dead letter(s) replayed" in rest.stdout
    assert _stats(hub_env, name) == (3, 0)

    neither = runner.invoke(app, ["dlq", "replay", name])
    assert neither.exit_code == 2 and "either a dead-letter ID or --all" in neither.output


def test_workers_lists_live_workers_and_their_queues(hub_env: Settings) -> None:
    name = fresh_queue_name("batch")
    _dead_letters(hub_env, name, 1)

    async def announce(services: Services) -> None:
        await beat(services.redis, hub_env.redis_key_prefix, "host-1-42", {
            "consumer": "host-1-42", "host": "host-1", "pid": 42, "started": "2025-07-01T08:00:00+00:00",
            "queues": {name: {"in_flight": 3, "concurrency": 8}},
            "counters": {"handled": 10, "retried": 1, "dead_lettered": 1}}, ttl_ms=5000)

    with_services(hub_env, announce)
    result = runner.invoke(app, ["workers", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [w["consumer"] for w in report["workers"]] == ["host-1-42"]
    (queue,) = [q for q in report["queues"] if q["name"] == name]
    assert (queue["backlog"], queue["dead_letters"]) == (0, 1)
    table = runner.invoke(app, ["workers"])
    assert "host-1-42" in table.stdout and f"{name} 3/8" in table.stdout


def test_worker_refuses_a_queue_nobody_handles(hub_env: Settings) -> None:
    result = runner.invoke(app, ["worker", "--queue", "no-such-queue"])
    assert result.exit_code == 2 and "REQUEST_INVALID" in result.output and "no-such-queue" in result.output
