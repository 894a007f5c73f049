"""Helpers for the worker tests: real Redis under the run's key prefix, one fresh queue per test."""

from __future__ import annotations

import asyncio
import inspect
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

from hub.bootstrap import Services, build_services
from hub.settings import Settings

T = TypeVar("T")


def fresh_queue_name(kind: str = "q") -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}"


def with_services(settings: Settings, fn: Callable[[Services], Awaitable[T]]) -> T:
    async def main() -> T:
        services = build_services(settings)
        try:
            return await fn(services)
        finally:
            await services.aclose()

    return asyncio.run(main())


async def until(condition: Callable[[], Awaitable[bool] | bool], timeout_s: float = 30.0, what: str = "") -> None:
    """Wait for a condition another process (or task) makes true; fail the test after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if await result if inspect.isawaitable(result) else result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what or condition}")
        await asyncio.sleep(0.02)
