"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hub.api import problems, routes_clients, routes_deadlines, routes_identifiers, routes_system
from hub.audit.sealer import seal_periodically
from hub.bootstrap import Services, build_services
from hub.settings import Settings, get_settings

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
        try:
            yield
        finally:
            if sealer:
                sealer.cancel()
            if owned:
                await app.state.services.aclose()

    app = FastAPI(title="thads-hub", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    problems.install(app)
    app.include_router(routes_system.router)
    app.include_router(routes_clients.router)
    app.include_router(routes_identifiers.router)
    app.include_router(routes_deadlines.router)
    return app
