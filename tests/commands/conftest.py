"""A rig for the commands: the sandbox agencies over real HTTP, the hub's API over real HTTP pointed at them,
and `thads-hub worker` subprocesses on the same database and Redis prefix."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import text

from hub.agencies import BreakerPolicy, write_agencies
from hub.agency_ids import sandbox_agencies
from hub.api.app import create_app
from hub.clients import add_client
from hub.commands import END_STATES
from hub.sandbox_cli import sandbox_agencies_config
from hub.settings import Settings
from hub.store.database import Database
from hub.store.migrate import upgrade
from hub.trust.pki_init import init_pki
from sandbox_mocks.app import create_sandbox_app
from sandbox_mocks.config import SandboxConfig
from sandbox_mocks.seed.records import Account
from sandbox_mocks.seed.world import World, build_world
from tests.conftest import PG_URL, REDIS_URL, RUN_ID, ServedApp, _with_search_path, free_port

SEED, CITIZENS = 41, 500
AGENCIES = ("procuracy", "land", "bank-970436", "bank-970418", "bank-970405")
THADS = str(Path(sys.executable).with_name("thads-hub"))
ROOT = Path(__file__).parents[2]
CASE = "THADS-79-2026-0042"
OFFICE = {"organ_id": "G12.HCM.079", "name": "Thi hành án dân sự Thành phố Hồ Chí Minh"}
PROCURACY = {"organ_id": "H37.HCM.079", "name": "Viện kiểm sát nhân dân Thành phố Hồ Chí Minh"}
_numbers = itertools.count(uuid.uuid4().int % 400_000 + 10_000)


def trail(view: dict[str, Any]) -> list[dict[str, Any]]:
    """A command's own status changes: its history without the 'confirmed' entries a bank's pushed freeze
    confirmation adds whenever it arrives (before or after the worker records the acknowledgment)."""
    return [h for h in view["history"] if h["status"] != "confirmed"]


def decision(kind: str = "account_freeze", **overrides: Any) -> dict[str, Any]:
    """A decision never used before in this run (its number is fresh), as a case system sends it."""
    number = str(next(_numbers))
    return {"number": number, "notation": "QĐ-CCTHADS", "issued_on": "2026-11-20", "office": OFFICE, "kind": kind,
            "place": "TP Hồ Chí Minh", "subject": f"Quyết định số {number} về thi hành án", "procuracy": PROCURACY,
            "signer_name": "Lê Văn Tám", "signer_position": "Chấp hành viên", **overrides}


def decision_ref(**overrides: Any) -> dict[str, Any]:
    full = decision()
    return {k: full[k] for k in ("number", "notation", "issued_on", "office")} | overrides


def accountable(case_ref: str = CASE) -> dict[str, str]:
    return {"case_ref": case_ref, "officer": "Chấp hành viên Lê Văn Tám",
            "purpose": "Cưỡng chế thi hành án (Điều 67 Luật THADS)"}


@dataclass
class Rig:
    url: str
    sandbox: str
    world: World
    db: Database
    key: str
    env: dict[str, str]
    logs: Path
    settings: Settings
    _accounts: Iterator[Account] = field(init=False)

    def __post_init__(self) -> None:
        self._accounts = iter([a for a in self.world.accounts if a.status == "active"])

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def fresh_accounts(self, n: int) -> list[Account]:
        """Active accounts no earlier test of this rig froze."""
        return [next(self._accounts) for _ in range(n)]

    def post(self, path: str, body: dict[str, Any], *, key: str | None = None,
             headers: dict[str, str] | None = None) -> httpx.Response:
        auth = {"Authorization": f"Bearer {key or self.key}"}
        return httpx.post(f"{self.url}{path}", json=body, headers={**auth, **(headers or {})}, timeout=30)

    def accepted(self, path: str, body: dict[str, Any], **kw: Any) -> list[dict[str, Any]]:
        r = self.post(path, body, **kw)
        assert r.status_code == 202, r.text
        commands: list[dict[str, Any]] = r.json()["commands"]
        return commands

    def command(self, command_id: str) -> dict[str, Any]:
        r = httpx.get(f"{self.url}/v1/commands/{command_id}", headers=self.auth, timeout=10)
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data

    def statuses(self, ids: list[str]) -> dict[str, str]:
        with self.db.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, status FROM commands")).all()
        wanted = set(ids)
        return {str(uuid.UUID(str(r.id))): r.status for r in rows if str(uuid.UUID(str(r.id))) in wanted}

    def wait_ended(self, ids: list[str], timeout_s: float, what: str = "") -> dict[str, str]:
        deadline = time.monotonic() + timeout_s
        while True:
            states = self.statuses(ids)
            if len(states) == len(ids) and all(s in END_STATES for s in states.values()):
                return states
            if time.monotonic() > deadline:
                open_ = {i: s for i, s in states.items() if s not in END_STATES}
                raise AssertionError(f"{what}: {len(open_)} commands not ended after {timeout_s} s: "
                                     f"{list(open_.items())[:5]}\n{self.worker_log()[-4000:]}")
            time.sleep(0.1)

    def recorder(self, agency: str) -> dict[str, list[dict[str, Any]]]:
        path = agency.replace("bank-", "banks/")
        data: dict[str, list[dict[str, Any]]] = httpx.get(f"{self.sandbox}/{path}/_admin/recorder", timeout=10).json()
        return data

    def faults(self, agency: str, **changes: Any) -> None:
        path = agency.replace("bank-", "banks/")
        httpx.put(f"{self.sandbox}/{path}/_admin/faults", json=changes, timeout=10).raise_for_status()

    def dead_letters(self) -> list[dict[str, Any]]:
        client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
        try:
            rows = client.xrange(f"{self.settings.redis_key_prefix}queue:commands:dlq")
        finally:
            client.close()
        out = []
        for _, raw in rows:
            flat = json.loads(raw["fields"])
            out.append({**raw, "fields": dict(zip(flat[::2], flat[1::2], strict=True))})
        return out

    def worker(self, name: str, *, concurrency: int = 8, lease: float = 1.0) -> subprocess.Popen[bytes]:
        with (self.logs / "workers.log").open("ab") as log:
            return subprocess.Popen([THADS, "worker", "--queue", "commands", "--consumer", name, "--lease", str(lease),
                                     "--concurrency", str(concurrency), "--grace", "2", "--log-level", "warning"],
                                    env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    def worker_log(self) -> str:
        path = self.logs / "workers.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @contextmanager
    def workers(self, *names: str, **kw: Any) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
        running = {n: self.worker(n, **kw) for n in names}
        try:
            yield running
        finally:
            for proc in running.values():
                if proc.poll() is None:
                    proc.terminate()
            for proc in running.values():
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@contextmanager
def make_rig(tmp: Path, db_url: str, redis_prefix: str) -> Iterator[Rig]:
    init_pki(tmp / "pki", sandbox_agencies())
    world = build_world(seed=SEED, citizens=CITIZENS)
    hub_port = free_port()  # known before the hub starts: the banks push their freeze confirmations to it
    with ServedApp(create_sandbox_app(SandboxConfig(key_dir=tmp / "pki", seed=SEED, citizens=CITIZENS,
                                                    hub_url=f"http://127.0.0.1:{hub_port}"), world)) as sandbox:
        full = sandbox_agencies_config(sandbox.url, tmp / "pki", population_client_id="thads-hub",
                                       population_client_secret="sandbox-secret",
                                       postal_api_key="sandbox-postal-key", postal_hmac_secret="sandbox-postal-hmac")
        # A breaker that half-opens soon, so a test sees an agency come back within seconds.
        write_agencies(tmp / "agencies.toml", {
            name: cfg.model_copy(update={"timeout_s": 5.0, "breaker": BreakerPolicy(failures=5, reset_s=1.0)})
            for name, cfg in full.items() if name in AGENCIES})
        upgrade(db_url)
        prefix = f"{redis_prefix}{uuid.uuid4().hex[:6]}:"
        settings = Settings(data_dir=tmp, database_url=db_url, redis_url=REDIS_URL, redis_key_prefix=prefix,
                            checkpoint_seconds=0)
        db = Database(db_url)
        _, key = add_client(db, "case-commands", ["command:freeze", "command:land", "command:procuracy"])
        env = {**os.environ, "PYTHONPATH": str(ROOT), "THADS_DATA_DIR": str(tmp), "THADS_DATABASE_URL": db_url,
               "THADS_REDIS_URL": REDIS_URL, "THADS_REDIS_KEY_PREFIX": prefix, "THADS_CHECKPOINT_SECONDS": "0"}
        try:
            with ServedApp(create_app(settings), port=hub_port) as hub:
                yield Rig(hub.url, sandbox.url, world, db, key, env, tmp, settings)
        finally:
            db.dispose()


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory, redis_prefix: str) -> Iterator[Rig]:
    """On SQLite: one file, shared by the API and the worker processes."""
    tmp = tmp_path_factory.mktemp("commands")
    with make_rig(tmp, f"sqlite:///{tmp / 'hub.db'}", redis_prefix) as made:
        yield made


@pytest.fixture(scope="module")
def pg_rig(tmp_path_factory: pytest.TempPathFactory, redis_prefix: str, pg_admin: Any) -> Iterator[Rig]:
    """On PostgreSQL, as several hub processes share it in production."""
    engine, created = pg_admin
    schema = f"thads_t_{RUN_ID}_cmd_{uuid.uuid4().hex[:6]}"
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    created.append(schema)
    with make_rig(tmp_path_factory.mktemp("commands-pg"), _with_search_path(PG_URL, schema), redis_prefix) as made:
        yield made



