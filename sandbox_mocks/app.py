"""The sandbox: every mock agency in one process, under the Conventions' path prefixes.

    /population  Population DB + VNeID (REST/JSON, OAuth2, JWS)   contract: /population/contracts/openapi.json
    /land        Land registry (SOAP 1.2)                          contract: /land?wsdl
    /postal      VNPost (REST/JSON, HMAC webhooks)                 contract: /postal/contracts/openapi.json
    /court       Courts (SOAP 1.2): GetJudgment, ListEffectiveJudgments  contract: /court?wsdl
    /procuracy   Procuracy (REST, signed edXML)                    contract: /procuracy/contracts/openapi.json
    /banks/<BIN> Banks, one per BIN (SOAP 1.2, pain.001/pain.002)  contract: /banks/<BIN>?wsdl

All mocks share one seeded world, so the same citizen owns the same parcels everywhere.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.heap import startup_heap_frozen
from sandbox_mocks.bank import EVENTS_PATH, BankMock
from sandbox_mocks.config import SandboxConfig
from sandbox_mocks.court.mock import CourtMock
from sandbox_mocks.framework.agency import MockAgency
from sandbox_mocks.framework.faults import FaultInjector
from sandbox_mocks.framework.soap_agency import SoapMockAgency
from sandbox_mocks.land.mock import LandRegistryMock
from sandbox_mocks.population.mock import PopulationMock
from sandbox_mocks.postal.mock import PostalMock
from sandbox_mocks.procuracy import ProcuracyMock
from sandbox_mocks.seed.world import World, shared_world

POSTAL_EVENTS_PATH = "/v1/inbound/postal/events"
PROCURACY_INBOUND_PATH = "/v1/inbound/procuracy"


def build_agencies(config: SandboxConfig, world: World) -> list[MockAgency]:
    def faults(agency: str) -> FaultInjector:
        return FaultInjector(config.faults.get(agency), seed=config.seed)

    return [
        PopulationMock(key_dir=config.key_dir, world=world, client_id=config.population_client_id,
                       client_secret=config.population_client_secret, faults=faults("population"),
                       seed=config.seed),
        LandRegistryMock(world=world, key_dir=config.key_dir, faults=faults("land"), seed=config.seed),
        CourtMock(world=world, key_dir=config.key_dir, faults=faults("court"), seed=config.seed),
        ProcuracyMock(world=world, key_dir=config.key_dir, faults=faults("procuracy"), seed=config.seed,
                      push_url=config.hub_url.rstrip("/") + PROCURACY_INBOUND_PATH),
        *[BankMock(bank_bin=b, world=world, key_dir=config.key_dir, faults=faults(f"bank-{b}"), seed=config.seed,
                   events_url=config.hub_url.rstrip("/") + EVENTS_PATH.format(bin=b)) for b in config.bank_bins],
        PostalMock(key_dir=config.key_dir, api_key=config.postal_api_key, hmac_secret=config.postal_hmac_secret,
                   callback_url=config.hub_url.rstrip("/") + POSTAL_EVENTS_PATH, faults=faults("postal"),
                   seed=config.seed),
    ]


def contract_url(agency: MockAgency, base_url: str) -> str:
    root = base_url.rstrip("/") + agency.prefix
    return f"{root}?wsdl" if isinstance(agency, SoapMockAgency) else f"{root}/contracts/openapi.json"


class _PrefixSlash:
    """``POST /land`` (the WSDL's address) reaches the mounted app as ``/land/`` instead of a 307 redirect
    that many SOAP and HTTP clients will not follow for a POST."""

    def __init__(self, app: ASGIApp, prefixes: set[str]) -> None:
        self.app = app
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self.prefixes:
            scope = {**scope, "path": scope["path"] + "/", "raw_path": scope["path"].encode() + b"/"}
        await self.app(scope, receive, send)


def create_sandbox_app(config: SandboxConfig, world: World | None = None) -> FastAPI:
    world = world or shared_world(config.seed, config.citizens, config.bank_bins)
    agencies = build_agencies(config, world)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with startup_heap_frozen():
            yield
        for agency in agencies:
            closer = getattr(agency, "aclose", None) or getattr(getattr(agency, "sender", None), "aclose", None)
            if closer is not None:
                await closer()

    root = FastAPI(title="thads-hub sandbox", description="Mock agencies for testers.", lifespan=lifespan)
    for agency in agencies:
        root.mount(agency.prefix, agency.build_app())
    root.state.agencies = {a.agency_id: a for a in agencies}
    root.state.world = world

    # A few synthetic citizens to start with (testers cannot guess valid IDs of a generated world).
    rich = [c.person_id for c in world.citizens if world.parcels_of(c.person_id) and world.accounts_of(c.person_id)]
    samples = {"with_parcels_and_accounts": rich[:3],
               **{name: list(ids[:3]) for name, ids in world.hard_cases.items()}}

    @root.get("/")
    async def index() -> dict[str, Any]:
        return {"seed": config.seed, "citizens": len(world.citizens), "sample_citizens": samples,
                "agencies": {a.agency_id: {"base_url": config.base_url + a.prefix,
                                           "contract": contract_url(a, config.base_url),
                                           "admin": config.base_url + a.prefix + "/_admin/recorder"}
                             for a in agencies}}

    root.add_middleware(_PrefixSlash, prefixes={a.prefix for a in agencies})
    return root
