"""Liveness, readiness, the canonical schema and the error registry."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from hub.api.problems import problem_response, problem_responses
from hub.bootstrap import Services
from hub.errors import REGISTRY, problem_type_uri
from hub.model.schema import canonical_json_schema
from hub.store.migrate import current_revision, head_revision

router = APIRouter(tags=["system"])

_CHECK_TIMEOUT_S = 3.0


@router.get("/health", summary="Liveness: the process answers")
async def health() -> dict[str, str]:
    return {"status": "ok"}


async def _check_database(services: Services) -> str | None:
    def probe() -> str | None:
        services.db.ping()
        current, head = current_revision(services.db), head_revision()
        if current != head:
            return f"schema at revision {current}, expected {head}: run 'thads-hub db upgrade'"
        return None

    return await asyncio.wait_for(asyncio.to_thread(probe), _CHECK_TIMEOUT_S)


async def _check_redis(services: Services) -> str | None:
    await asyncio.wait_for(services.redis.ping(), _CHECK_TIMEOUT_S)
    return None


@router.get("/ready", summary="Readiness: database (schema current) and Redis reachable",
            responses=problem_responses("DEPENDENCY_UNAVAILABLE"))
async def ready(request: Request) -> Any:
    services: Services = request.app.state.services
    checks = {"database": _check_database(services), "redis": _check_redis(services)}
    results = await asyncio.gather(*checks.values(), return_exceptions=True)
    report: dict[str, str] = {}
    for name, outcome in zip(checks, results, strict=True):
        if isinstance(outcome, BaseException):
            reason = "timed out" if isinstance(outcome, TimeoutError) else f"{type(outcome).__name__}: {outcome}"
            report[name] = reason[:300]
        elif outcome:
            report[name] = outcome
        else:
            report[name] = "ok"
    failed = [name for name, state in report.items() if state != "ok"]
    if failed:
        return problem_response("DEPENDENCY_UNAVAILABLE", f"not ready: {', '.join(failed)} unavailable",
                                instance="/ready", failed=failed, checks=report)
    return JSONResponse({"status": "ready", "checks": report})


@router.get("/v1/schema/canonical.json", summary="JSON Schema of the canonical case model")
async def canonical_schema() -> dict[str, Any]:
    return canonical_json_schema()


@router.get("/v1/errors", summary="The error registry: every problem type the hub can answer")
async def error_registry() -> list[dict[str, Any]]:
    return [{"type": problem_type_uri(p.code), "code": p.code, "status": p.status, "title": p.title,
             "description": p.description} for p in REGISTRY.values()]
