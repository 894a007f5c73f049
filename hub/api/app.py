"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from adapters.heap import startup_heap_frozen
from hub.api import (
    openapi,
    problems,
    routes_batches,
    routes_cases,
    routes_clients,
    routes_commands,
    routes_deadlines,
    routes_identifiers,
    routes_inbound,
    routes_judgments,
    routes_notifications,
    routes_ops,
    routes_payouts,
    routes_postal_events,
    routes_receipts,
    routes_system,
    routes_verifications,
)
from hub.audit.sealer import seal_periodically
from hub.batches.service import BatchService
from hub.bootstrap import Services, build_services
from hub.connectors_runtime import ConnectorSet, build_connectors
from hub.errors import HubError
from hub.logs import CorrelationIdMiddleware
from hub.settings import Settings, get_settings
from hub.verification.wiring import verification_service

log = logging.getLogger("thads.api")

DESCRIPTION = """\
The interoperability hub of Vietnam's civil judgment enforcement system (thi hành án dân sự).

Every error is an RFC 9457 problem (`application/problem+json`) whose `type` is
`urn:thads:problem:<CODE>`; `GET /v1/errors` lists the codes. Authenticate with
`Authorization: Bearer <API key>` (keys come from `thads-hub clients add`). Citizen IDs travel in
request bodies only, never in a URL.
"""


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = services or build_services(settings or get_settings())
        current = app.state.services.settings
        sealer = (asyncio.create_task(seal_periodically(current, app.state.services.db))
                  if current.checkpoint_seconds > 0 else None)
        connectors = await start_connectors(app.state.services)
        try:
            with startup_heap_frozen():
                yield
        finally:
            if sealer:
                sealer.cancel()
            await connectors.aclose()
            if owned:
                await app.state.services.aclose()

    app = FastAPI(title="thads-hub", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.add_middleware(CorrelationIdMiddleware)  # every log line of a request carries its id
    problems.install(app)
    app.include_router(routes_system.router)
    app.include_router(routes_clients.router)
    app.include_router(routes_identifiers.router)
    app.include_router(routes_deadlines.router)
    app.include_router(routes_verifications.router)
    app.include_router(routes_batches.router)
    app.include_router(routes_ops.router)
    app.include_router(routes_cases.router)
    app.include_router(routes_judgments.router)
    app.include_router(routes_receipts.router)
    app.include_router(routes_inbound.router)
    app.include_router(routes_commands.router)
    app.include_router(routes_payouts.router)
    app.include_router(routes_notifications.router)
    app.include_router(routes_postal_events.router)
    openapi.install(app, routes_verifications.extra_schemas())
    return app


async def start_connectors(services: Services) -> ConnectorSet:
    """Connectors for the configured agencies, and the verification service over them. A hub without an
    agencies file (or without its key yet) still serves: verifications then report every scope skipped."""
    settings = services.settings
    try:
        connectors = build_connectors(settings, services.redis, services.db)
        await connectors.start()
    except HubError as exc:
        log.warning("no connectors: %s", exc.detail)
        connectors = ConnectorSet({})
    services.connectors = connectors
    services.verification = verification_service(services, connectors)
    services.batches = BatchService(services.db)
    return connectors
