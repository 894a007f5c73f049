"""The hub's state as operations see it, read from where it lives: breakers and queues in Redis, the
outbox and recent failures in SQL. One reading feeds both /metrics and the operations page."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from hub.agencies import load_agencies
from hub.bootstrap import Services
from hub.errors import HubError
from hub.resilience.breaker import CircuitBreaker
from hub.store.tables import message_log, outbox
from hub.store.timestamps import as_utc
from hub.worker.heartbeat import live_workers
from hub.worker.registry import HANDLERS, declared_capacity
from hub.worker.streams import WorkQueue


def _agencies(services: Services) -> list[str]:
    try:
        return sorted(load_agencies(services.settings.agencies))
    except HubError:
        return []


def _outbox_backlog(services: Services) -> dict[str, int]:
    with services.db.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.queue, func.count()).where(outbox.c.published_at.is_(None))
                            .group_by(outbox.c.queue)).all()
    return {q: int(n) for q, n in rows}


def recent_failures(services: Services, limit: int = 20) -> list[dict[str, Any]]:
    """The latest exchanges that did not end ok, newest first, with their message-log position."""
    with services.db.engine.connect() as conn:
        rows = conn.execute(select(message_log.c.partition, message_log.c.seq, message_log.c.recorded_at,
                                   message_log.c.direction, message_log.c.agency, message_log.c.operation,
                                   message_log.c.outcome, message_log.c.error_code, message_log.c.case_ref)
                            .where(message_log.c.outcome != "ok", message_log.c.kind == "response")
                            .order_by(message_log.c.recorded_at.desc()).limit(limit)).all()
    return [{"at": as_utc(r.recorded_at).isoformat(), "direction": r.direction, "agency": r.agency,
             "operation": r.operation, "outcome": r.outcome, "error_code": r.error_code, "case_ref": r.case_ref,
             "log_entry": f"{r.partition}/{r.seq}"} for r in rows]


async def hub_state(services: Services) -> dict[str, Any]:
    prefix = services.settings.redis_key_prefix
    breakers: dict[str, str] = {}
    for agency in _agencies(services):
        breaker = CircuitBreaker(services.redis, f"{prefix}breaker:{agency}", failures=1, reset_s=1)
        breakers[agency] = (await breaker.state()).value
    staged = await asyncio.to_thread(_outbox_backlog, services)
    queues: dict[str, dict[str, int]] = {}
    for name in sorted(set(HANDLERS) | set(staged)):
        stats = await WorkQueue(services.redis, prefix, name, capacity=declared_capacity(name)).stats()
        queues[name] = {"backlog": stats.backlog, "pending": stats.pending, "dead_letters": stats.dead_letters,
                        "outbox": staged.get(name, 0)}
    return {"breakers": breakers, "queues": queues, "workers": len(await live_workers(services.redis, prefix))}
