"""`thads-hub agencies`: the configured connectors, their operations and their live health."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table


async def _gather_health(check: bool) -> list[tuple[str, str, str, str, str]]:
    from adapters.redis_client import async_client
    from hub.connector import Health
    from hub.connectors_runtime import build_connectors
    from hub.settings import get_settings

    settings = get_settings()
    redis = async_client(settings.redis_url)
    connectors = build_connectors(settings, redis)
    rows = []
    try:
        await connectors.start()
        for agency_id, connector in connectors.connectors.items():
            ops = ", ".join(f"{op.name}{'' if op.idempotent else '*'}" for op in connector.operations)
            health = "-"
            if check:
                started = time.monotonic()
                try:
                    h: Health = await asyncio.wait_for(connector.health(), connector.ctx.config.timeout_s)
                    health = f"{'ok' if h.ok else 'DOWN'} ({h.detail})"
                except Exception as exc:  # a health check reports, it never crashes the listing
                    health = f"DOWN ({type(exc).__name__}: {exc})"[:120]
                health += f" {int((time.monotonic() - started) * 1000)} ms"
            breaker = str(await connector.ctx.guard.breaker.state())
            rows.append((agency_id, connector.kind, ops, breaker, health))
    finally:
        await connectors.aclose()
        await redis.aclose()
    return rows


def agencies(check: Annotated[bool, typer.Option("--check/--no-check", help="Call each agency's health "
                                                 "check (default) or only list the configuration.")] = True) -> None:
    """List the agencies configured in THADS_AGENCIES_FILE: connector, operations (* = not idempotent,
    never retried without a key), breaker state and live health."""
    rows = asyncio.run(_gather_health(check))
    if not rows:
        typer.echo("no agencies configured (run `thads-hub sandbox` to write a file pointing at the sandbox)")
        raise typer.Exit(0)
    table = Table("agency", "connector", "operations", "breaker", "health")
    for row in rows:
        table.add_row(*row)
    Console().print(table)
