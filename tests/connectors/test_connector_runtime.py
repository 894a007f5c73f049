"""Connectors as the core builds them: from entry points and the agencies file, including a third-party
package installed next to the hub, and a rate limit shared by two processes, measured at the mock."""

from __future__ import annotations

import asyncio
import datetime as dt
import multiprocessing
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from hub.agencies import AgencyConfig, load_agencies, write_agencies
from hub.agency_ids import sandbox_agencies
from hub.connector import ParcelSource
from hub.connectors_runtime import build_connectors
from hub.resilience.context import CallContext
from hub.settings import Settings
from hub.store.migrate import upgrade
from hub.trust.pki_init import init_pki
from sandbox_mocks.app import create_sandbox_app
from sandbox_mocks.config import SandboxConfig
from sandbox_mocks.seed.world import build_world
from tests.conftest import REDIS_URL, ServedApp

SEED, CITIZENS = 23, 500
HUB = Path(sys.executable).parent / "thads-hub"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("runtime-data")
    init_pki(d / "pki", sandbox_agencies())
    upgrade(f"sqlite:///{d / 'thads.db'}")
    return d


@pytest.fixture(scope="module")
def sandbox(data_dir: Path) -> Iterator[ServedApp]:
    config = SandboxConfig(key_dir=data_dir / "pki", seed=SEED, citizens=CITIZENS)
    with ServedApp(create_sandbox_app(config, build_world(seed=SEED, citizens=CITIZENS))) as served:
        yield served


def _env(data_dir: Path, prefix: str) -> dict[str, str]:
    return {**os.environ, "THADS_DATA_DIR": str(data_dir), "THADS_REDIS_URL": REDIS_URL,
            "THADS_REDIS_KEY_PREFIX": prefix, "THADS_AGENCIES_FILE": str(data_dir / "agencies.toml")}


def _land_only(data_dir: Path, sandbox: ServedApp, **overrides: object) -> None:
    values: dict[str, object] = {"protocol": "soap", "base_url": f"{sandbox.url}/land",
                                 "wsdl": f"{sandbox.url}/land?wsdl", "certificate": data_dir / "pki" / "land.pem"}
    values.update(overrides)
    write_agencies(data_dir / "agencies.toml", {"land": AgencyConfig(**values)})  # type: ignore[arg-type]


def test_the_core_builds_connectors_from_entry_points(data_dir: Path, sandbox: ServedApp, redis_prefix: str) -> None:
    _land_only(data_dir, sandbox)
    settings = Settings(data_dir=data_dir, redis_url=REDIS_URL, redis_key_prefix=redis_prefix)
    world = build_world(seed=SEED, citizens=CITIZENS)
    owner = next(c.person_id for c in world.citizens if world.parcels_of(c.person_id))

    async def scenario() -> int:
        redis = aioredis.Redis.from_url(REDIS_URL)
        connectors = build_connectors(settings, redis)
        try:
            await connectors.start()
            [land] = connectors.with_capability(ParcelSource)
            parcels = await land.find_parcels(owner, CallContext.within(10, case_ref="C", officer="o", purpose="p"))
            return len(parcels)
        finally:
            await connectors.aclose()
            await redis.aclose()

    assert asyncio.run(scenario()) == len(world.parcels_of(owner))


def test_agencies_command_lists_operations_and_live_health(data_dir: Path, sandbox: ServedApp,
                                                           redis_prefix: str) -> None:
    _land_only(data_dir, sandbox)
    run = subprocess.run([str(HUB), "agencies"], env={**_env(data_dir, redis_prefix), "COLUMNS": "200"},
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "land" in run.stdout and "find_parcels" in run.stdout and "ok" in run.stdout


PLUGIN = '''
"""A bank whose protocol differs from the others: its own package, its own entry point."""
from hub.connector import Connector, Health, OperationSpec
from hub.model.assets import BankAccount


class AcmeBankConnector(Connector):
    kind = "bank"
    operations = (OperationSpec("find_accounts", True, "accounts by owner, from Acme's own API"),)

    async def health(self) -> Health:
        return Health(self.agency_id, True, "acme answers")

    async def find_accounts(self, owner_id, call):
        async def attempt(timeout_s):
            async with self.ctx.recorder.exchange_async("outbound", self.agency_id, "find_accounts",
                                                        subject_person_id=owner_id) as ex:
                ex.request(b"{}")
                ex.response(b"[]")
            return [BankAccount(bank_bin="970999", account_number="ACME0001", holder_name="ACME TEST",
                                holder_id=owner_id, balance_vnd=1000)]
        return await self.ctx.guard.call(attempt, call, idempotent=True)
'''


def test_a_third_party_connector_package_plugs_in_without_touching_the_core(
        data_dir: Path, tmp_path: Path, redis_prefix: str) -> None:
    pkg = tmp_path / "acme"
    (pkg / "acme_bank").mkdir(parents=True)
    (pkg / "acme_bank" / "__init__.py").write_text(textwrap.dedent(PLUGIN))
    (pkg / "pyproject.toml").write_text(textwrap.dedent('''
        [build-system]
        requires = ["setuptools"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "acme-thads-bank"
        version = "0.1.0"
        [project.entry-points."thads_hub.connectors"]
        "bank-970999" = "acme_bank:AcmeBankConnector"
        [tool.setuptools]
        packages = ["acme_bank"]
    '''))
    site = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                              "--target", str(site), str(pkg)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    agencies = data_dir / "acme-agencies.toml"
    write_agencies(agencies, {"bank-970999": AgencyConfig(protocol="rest", base_url="http://acme.invalid")})
    env = {**_env(data_dir, redis_prefix), "THADS_AGENCIES_FILE": str(agencies), "PYTHONPATH": str(site),
           "COLUMNS": "200"}
    listed = subprocess.run([str(HUB), "agencies"], env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert "bank-970999" in listed.stdout and "acme answers" in listed.stdout
    call = subprocess.run([sys.executable, "-c", textwrap.dedent('''
        import asyncio
        from adapters.redis_client import async_client
        from hub.connector import AccountSource
        from hub.connectors_runtime import build_connectors
        from hub.resilience.context import CallContext
        from hub.settings import get_settings

        async def main():
            s = get_settings()
            redis = async_client(s.redis_url)
            cs = build_connectors(s, redis)
            [bank] = cs.with_capability(AccountSource)
            accounts = await bank.find_accounts("087084000999", CallContext.within(5, case_ref="c", officer="o",
                                                                                   purpose="p"))
            print(type(bank).__module__, accounts[0].account_number)
            await redis.aclose()

        asyncio.run(main())
    ''')], env=env, capture_output=True, text=True, timeout=120)
    assert call.returncode == 0, call.stderr
    assert call.stdout.split() == ["acme_bank", "ACME0001"]
    assert "bank-970999" in {name for name in load_agencies(agencies)}


def _caller(data_dir: str, prefix: str, owners: list[str]) -> None:
    os.environ.update(_env(Path(data_dir), prefix))
    from adapters.redis_client import async_client
    from hub.settings import get_settings

    async def main() -> None:
        settings = get_settings()
        redis = async_client(settings.redis_url)
        connectors = build_connectors(settings, redis)
        [land] = connectors.with_capability(ParcelSource)
        for owner in owners:
            await land.find_parcels(owner, CallContext.within(30, case_ref="c", officer="o", purpose="p"))
        await connectors.aclose()
        await redis.aclose()

    asyncio.run(main())


def test_the_rate_limit_holds_across_two_processes_at_the_mock(data_dir: Path, sandbox: ServedApp,
                                                                 redis_prefix: str) -> None:
    _land_only(data_dir, sandbox, rate_limit_per_s=10.0)
    prefix = f"{redis_prefix}rate-{uuid.uuid4().hex[:6]}:"
    world = build_world(seed=SEED, citizens=CITIZENS)
    owners = [c.person_id for c in world.citizens[:30]]
    httpx.delete(f"{sandbox.url}/land/_admin/recorder").raise_for_status()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_caller, args=(str(data_dir), prefix, owners[i::2])) for i in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    seen = [dt.datetime.fromisoformat(r["at"]) for r in httpx.get(f"{sandbox.url}/land/_admin/recorder").json()
            ["received"] if r["verdict"] == "ok"]
    assert len(seen) == 30
    seen.sort()
    paced = seen[1:]  # the first call may use the burst allowance
    rate = (len(paced) - 1) / (paced[-1] - paced[0]).total_seconds()
    assert rate <= 10 * 1.1, rate
