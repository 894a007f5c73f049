"""Reconciliation against the sandbox court: judgments in effect that never arrived by push are read back
(GetJudgment, signed) and taken in once; the pushed ones stay as they were; a second poll finds nothing."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.agencies import AgencyConfig, write_agencies
from hub.bootstrap import build_services
from hub.connectors_runtime import build_connectors
from hub.inbound.reconcile import ReconcilePoller, ReconcileReport, reconcile
from hub.settings import Settings
from hub.store.database import Database
from hub.store.tables import inbound_evidence, intakes, judgments
from sandbox_mocks.app import create_sandbox_app
from sandbox_mocks.config import SandboxConfig
from sandbox_mocks.seed.world import World
from tests.conftest import ServedApp, free_port
from tests.inbound.conftest import agencies_config, count, push_all, rest_items


@pytest.fixture
def sandbox(key_dir: Path, world: World) -> Iterator[ServedApp]:
    config = SandboxConfig(key_dir=key_dir, seed=7, citizens=1000, hub_url=f"http://127.0.0.1:{free_port()}")
    with ServedApp(create_sandbox_app(config, world)) as served:
        yield served


@pytest.fixture
def court_settings(inbound_settings: Settings, sandbox: ServedApp, key_dir: Path) -> Settings:
    agencies = agencies_config(key_dir)
    agencies["court"] = AgencyConfig(protocol="soap", base_url=f"{sandbox.url}/court", rate_limit_per_s=500,
                                     certificate=key_dir / "court.pem")
    write_agencies(inbound_settings.agencies, agencies)
    return inbound_settings


def run_reconcile(settings: Settings, since: dt.date) -> ReconcileReport:
    async def main() -> ReconcileReport:
        services = build_services(settings)
        services.connectors = build_connectors(settings, services.redis, services.db)
        await services.connectors.start()
        try:
            return await reconcile(services, since)
        finally:
            await services.connectors.aclose()
            await services.aclose()

    return asyncio.run(main())


def test_lost_pushes_are_caught_by_the_poll(hub_with_court: ServedApp, court_settings: Settings, key_dir: Path,
                                           world: World, db: Database) -> None:
    asyncio.run(push_all(hub_with_court, rest_items(world, key_dir, 8)))
    since = min(j.effective_on for j in world.judgments)
    expected = {(j.court_code, j.number) for j in world.judgments_since(since)}
    report = run_reconcile(court_settings, since)
    assert report.listed == len(expected) and report.failed == {}
    assert report.missing == len(expected) - 8 == len(report.taken_in)
    with db.engine.connect() as conn:
        held = {(r.court_code, r.number_text) for r in conn.execute(select(judgments))}
        channels = [r.channel for r in conn.execute(select(intakes))]
        reconciled = conn.execute(select(inbound_evidence).where(inbound_evidence.c.stage == "reconciled")).all()
    assert held == expected and count(db, intakes) == len(expected)
    assert channels.count("rest") == 8 and channels.count("reconciliation") == len(expected) - 8
    assert len(reconciled) == len(expected) - 8

    again = run_reconcile(court_settings, since)
    assert (again.missing, again.taken_in) == (0, [])
    assert count(db, judgments) == len(expected)


def test_one_worker_polls_per_interval(court_settings: Settings) -> None:
    async def main() -> list[ReconcileReport | None]:
        services = build_services(court_settings)
        try:
            first = ReconcilePoller(services, "w1", interval_s=60, lookback_days=3650)
            second = ReconcilePoller(services, "w2", interval_s=60, lookback_days=3650)
            results = [await first.poll_once(), await second.poll_once()]
            await services.redis.delete(services.key("inbound", "reconcile", "lock"))
            if services.connectors is not None:
                await services.connectors.aclose()
            return results
        finally:
            await services.aclose()

    first, second = asyncio.run(main())
    assert first is not None and first.listed > 0 and second is None


@pytest.fixture
def hub_with_court(court_settings: Settings) -> Iterator[ServedApp]:
    from hub.api.app import create_app

    with ServedApp(create_app(court_settings)) as served:
        yield served


