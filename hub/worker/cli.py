"""`thads-hub worker`, `thads-hub workers` and `thads-hub dlq ...`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Column, Table

from hub.worker.streams import QueueStats, WorkQueue

T = TypeVar("T")

dlq_app = typer.Typer(help="Dead letters: entries a worker gave up on, to inspect and replay.", no_args_is_help=True)
out = Console()

_QueueArg = Annotated[str, typer.Argument(help="Queue name, e.g. as listed by `thads-hub workers`.")]


def _with_queue(name: str, action: Callable[[WorkQueue], Awaitable[T]]) -> T:
    """Run one async action on a queue with a Redis client of its own, refusals reported as codes."""
    from adapters.redis_client import async_client
    from hub.cli import refusals
    from hub.settings import get_settings
    from hub.worker.registry import declared_capacity

    async def main() -> T:
        settings = get_settings()
        redis = async_client(settings.redis_url)
        try:
            return await action(WorkQueue(redis, settings.redis_key_prefix, name, capacity=declared_capacity(name)))
        finally:
            await redis.aclose()

    with refusals():
        return asyncio.run(main())
    raise AssertionError("unreachable")  # pragma: no cover - refusals() exits on a refusal


def worker(
    queue: Annotated[list[str] | None, typer.Option("--queue", "-q", help="Consume only this queue (repeatable). "
                                                   "Default: every registered queue.")] = None,
    handler: Annotated[list[str] | None, typer.Option("--handler", help="Also run a handler that is not "
                                                     "registered in the hub, as module:factory (repeatable).")] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, help="Entries in flight per queue in this process; "
                                                    "overrides each handler's own.")] = None,
    consumer: Annotated[str | None, typer.Option(help="Consumer name in the groups; unique among live workers. "
                                                 "Default <host>-<pid>. A stable name (a pod name) lets a restarted "
                                                 "worker take back at once what it held when it died.")] = None,
    lease: Annotated[float, typer.Option(min=0.1, help="Seconds an entry held by a dead worker waits before "
                                         "another worker takes it over; also the shortest retry delay.")] = 15.0,
    grace: Annotated[float, typer.Option(min=0, help="On SIGTERM/SIGINT, seconds in-flight entries may take "
                                         "to finish; after that they are left pending for another "
                                         "delivery.")] = 30.0,
    log_level: Annotated[str, typer.Option(help="Python log level.")] = "info",
) -> None:
    """Run queue handlers over Redis Streams until SIGTERM or SIGINT (a second signal stops at once).

    At least once: an entry is acknowledged only after its handler returned, entries of a killed
    worker are taken over by the others after --lease, failed entries are retried with backoff and
    dead-lettered after the handler's max attempts. See docs/worker.md."""
    from hub.bootstrap import build_services
    from hub.cli import refusals
    from hub.logs import configure_logging
    from hub.settings import get_settings
    from hub.worker.registry import build_companions, build_handlers
    from hub.worker.runtime import Worker, WorkerOptions, default_consumer_name

    configure_logging(log_level)  # JSON lines, citizen IDs masked (hub/logs.py)
    options = WorkerOptions(consumer=consumer or default_consumer_name(), lease_s=lease, grace_s=grace,
                            concurrency=concurrency)

    async def main() -> None:
        services = build_services(get_settings())
        try:
            handlers = build_handlers(services, queue or (), handler or ())
            companions = build_companions(services, options.consumer)
            await Worker(services, handlers, options, companions).run_until_signalled()
        finally:
            await services.aclose()

    with refusals():
        asyncio.run(main())


def workers(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """List live workers (those whose heartbeat has not expired) and the queues they and the registry name:
    backlog, pending, not yet delivered, dead letters."""
    from adapters.redis_client import async_client
    from hub.settings import get_settings
    from hub.worker.heartbeat import live_workers
    from hub.worker.registry import HANDLERS

    async def main() -> tuple[list[dict[str, Any]], list[QueueStats]]:
        settings = get_settings()
        redis = async_client(settings.redis_url)
        try:
            live = await live_workers(redis, settings.redis_key_prefix)
            names = sorted(set(HANDLERS) | {q for w in live for q in w.get("queues", {})})
            return live, [await WorkQueue(redis, settings.redis_key_prefix, n).stats() for n in names]
        finally:
            await redis.aclose()

    live, stats = asyncio.run(main())
    if as_json:
        typer.echo(json.dumps({"workers": live, "queues": [asdict(s) for s in stats]}))
        return
    table = Table(Column("consumer", no_wrap=True), "host", "pid", "since",
                  Column("queues (in flight/slots)", no_wrap=True), "handled", "retried", "dead")
    for w in live:
        queues = ", ".join(f"{q} {v['in_flight']}/{v['concurrency']}" for q, v in w["queues"].items())
        c = w["counters"]
        table.add_row(w["consumer"], w["host"], str(w["pid"]), w["started"], queues, str(c["handled"]),
                      str(c["retried"]), str(c["dead_lettered"]))
    out.print(table)
    qtable = Table(Column("queue", no_wrap=True), "backlog", "pending", "not delivered", "consumers", "dead letters")
    for s in stats:
        qtable.add_row(s.name, str(s.backlog), str(s.pending), "?" if s.lag is None else str(s.lag),
                       str(s.consumers), str(s.dead_letters))
    out.print(qtable)


@dlq_app.command("list")
def dlq_list(queue: _QueueArg,
             limit: Annotated[int, typer.Option(min=1, help="At most this many, oldest first.")] = 50,
             after: Annotated[str, typer.Option(help="Start after this dead-letter id (paging).")] = "") -> None:
    """List a queue's dead letters: when, why, after how many deliveries."""
    letters = _with_queue(queue, lambda q: q.dead_letters(start=f"({after}" if after else "-", count=limit))
    table = Table(Column("dead-letter id", no_wrap=True), "failed at", "deliveries", "reason", "fields")
    for d in letters:
        table.add_row(d.id, d.failed_at, str(d.deliveries), d.reason, ", ".join(d.fields)[:60])
    out.print(table)
    out.print(f"{len(letters)} dead letter(s) shown", highlight=False)


@dlq_app.command("show")
def dlq_show(queue: _QueueArg, dlq_id: Annotated[str, typer.Argument(metavar="ID", help="Dead-letter id.")]) -> None:
    """Print one dead letter in full, with the original entry's fields, as JSON."""
    d = _with_queue(queue, lambda q: q.dead_letter_by_id(dlq_id))
    typer.echo(json.dumps(asdict(d), ensure_ascii=False, indent=2))


@dlq_app.command("replay")
def dlq_replay(queue: _QueueArg,
               dlq_id: Annotated[str | None, typer.Argument(metavar="[ID]", help="Dead-letter id.")] = None,
               all_: Annotated[bool, typer.Option("--all", help="Replay every dead letter of the queue.")] = False
               ) -> None:
    """Put dead letters back on their queue as new entries (fresh attempt count) and delete them from the
    dead-letter stream. Refused with QUEUE_FULL when the queue is at capacity."""
    if (dlq_id is None) == (not all_):
        raise typer.BadParameter("give either a dead-letter ID or --all")
    if all_:
        done = _with_queue(queue, lambda q: q.replay_all())
        out.print(f"{done} dead letter(s) replayed onto {queue}", highlight=False)
    else:
        assert dlq_id is not None
        new_id = _with_queue(queue, lambda q: q.replay(dlq_id))
        out.print(f"dead letter {dlq_id} replayed onto {queue} as {new_id}", highlight=False)


def mount_worker_commands(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.command("workers")(workers)
    app.add_typer(dlq_app, name="dlq")
