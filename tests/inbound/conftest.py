"""A hub served over real HTTP with court, procuracy and bank connectors configured (they are only used
for their intake capabilities here: nothing calls the agencies), the sandbox PKI and a seeded world."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from lxml import etree
from sqlalchemy import func, select

from adapters import soap_envelope
from adapters.trust_store import TrustStore
from hub.agencies import AgencyConfig, write_agencies
from hub.agency_ids import sandbox_agencies
from hub.settings import Settings
from hub.store.database import Database
from hub.store.migrate import upgrade
from hub.trust.pki_init import init_pki
from sandbox_mocks.court import judgment_push_items, soap_sender
from sandbox_mocks.framework.pusher import Ack, PushItem, PushReport, push
from sandbox_mocks.seed.world import World, build_world
from tests.conftest import ServedApp

BANK_BIN = "970436"
NOWHERE = "http://127.0.0.1:9"  # the agencies are never called in these tests


@pytest.fixture(scope="session")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("inbound-pki")
    init_pki(path, sandbox_agencies())
    return path


@pytest.fixture(scope="session")
def world() -> World:
    return build_world(seed=7, citizens=1000)


def agencies_config(key_dir: Path, base_url: str = NOWHERE) -> dict[str, AgencyConfig]:
    return {"court": AgencyConfig(protocol="soap", base_url=f"{base_url}/court", certificate=key_dir / "court.pem"),
            "procuracy": AgencyConfig(protocol="rest", base_url=f"{base_url}/procuracy",
                                      certificate=key_dir / "procuracy.pem"),
            f"bank-{BANK_BIN}": AgencyConfig(protocol="soap", base_url=f"{base_url}/banks/{BANK_BIN}",
                                             certificate=key_dir / f"bank-{BANK_BIN}.pem")}


@pytest.fixture
def inbound_settings(settings: Settings, key_dir: Path, db_url: str) -> Settings:
    """On both backends (``db_url``): the races between copies of one message differ between them."""
    settings = settings.model_copy(update={"database_url": db_url, "key_dir": key_dir, "checkpoint_seconds": 0,
                                           "agencies_file": settings.data_dir / "agencies.toml"})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    write_agencies(settings.agencies, agencies_config(key_dir))
    upgrade(settings.database_url)
    return settings


@pytest.fixture
def hub(inbound_settings: Settings) -> Iterator[ServedApp]:
    from hub.api.app import create_app

    with ServedApp(create_app(inbound_settings)) as served:
        yield served


@pytest.fixture
def db(inbound_settings: Settings) -> Iterator[Database]:
    database = Database(inbound_settings.database_url)
    yield database
    database.dispose()


def count(db: Database, table: Any) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def run_push(items: list[PushItem], url: str, trust: TrustStore | None = None, **kw: Any) -> PushReport:
    async def main() -> PushReport:
        send, close = soap_sender(url, trust=trust)
        try:
            return await push(items, send, **kw)
        finally:
            await close()

    return asyncio.run(main())


def send_one(item: PushItem, url: str, trust: TrustStore | None = None) -> Ack:
    report = run_push([item], url, trust, rate_per_s=100)
    return report.outcomes[0].ack


def rest_items(world: World, key_dir: Path, count: int, start: int = 0) -> list[bytes]:
    return [etree.tostring(soap_envelope.unwrap(i.body))
            for i in judgment_push_items(world, key_dir, count=count, start=start)]


async def push_all(hub: ServedApp, bodies: list[bytes]) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        for body in bodies:
            answer = await http.post(f"{hub.url}/v1/inbound/judgments", content=body,
                                     headers={"content-type": "application/xml"})
            assert answer.status_code == 200, answer.text
