"""A rig for notifications and payouts: the sandbox over real HTTP pushing its events (postal webhooks) to the
hub, the hub's API over real HTTP pointed at it, and `thads-hub worker` subprocesses carrying the commands.

The commands' rig (tests.commands.conftest.Rig) is reused for what it does (workers, recorders, faults, command
read-back); only the start differs: the hub's port is chosen before the sandbox starts, because the sandbox
must know where to push, and the world is larger (a payout to 5,000 creditors needs 5,000 accounts).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from hub.agencies import BreakerPolicy, write_agencies
from hub.agency_ids import sandbox_agencies
from hub.api.app import create_app
from hub.clients import add_client
from hub.sandbox_cli import sandbox_agencies_config
from hub.settings import Settings
from hub.store.database import Database
from hub.store.migrate import upgrade
from hub.trust.pki_init import init_pki
from sandbox_mocks.app import create_sandbox_app
from sandbox_mocks.config import SandboxConfig
from sandbox_mocks.seed.world import World, build_world
from tests.commands.conftest import ROOT, Rig
from tests.conftest import REDIS_URL, ServedApp

POSTAL_HMAC = "sandbox-postal-hmac"
AGENCIES = ("population", "postal", "bank-970436", "bank-970418", "bank-970405")
SCOPES = ["command:notify", "command:payout"]


class OutboundRig(Rig):
    mocks: dict[str, Any]  # the sandbox's agencies, in this process: tests may turn their knobs

    def get(self, path: str, **params: Any) -> Any:
        r = httpx.get(f"{self.url}{path}", params=params, headers=self.auth, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def wait_for(self, what: str, check: Callable[[], Any], timeout_s: float, every_s: float = 0.1) -> Any:
        """Poll ``check`` until it answers something truthy (the hub's state is read over its API)."""
        deadline = time.monotonic() + timeout_s
        while True:
            found = check()
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not reached after {timeout_s} s\n{self.worker_log()[-4000:]}")
            time.sleep(every_s)

    def effects(self, agency: str, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.recorder(agency)["effects"] if e["kind"] == kind]


@contextmanager
def make_outbound_rig(tmp: Path, db_url: str, redis_prefix: str, *, seed: int, citizens: int,
                      world: World | None = None) -> Iterator[OutboundRig]:
    init_pki(tmp / "pki", sandbox_agencies())
    world = world or build_world(seed=seed, citizens=citizens)
    prefix = f"{redis_prefix}{uuid.uuid4().hex[:6]}:"
    settings = Settings(data_dir=tmp, database_url=db_url, redis_url=REDIS_URL, redis_key_prefix=prefix,
                        checkpoint_seconds=0)
    hub = ServedApp(create_app(settings))  # its port now, so that the sandbox knows where to push
    config = SandboxConfig(key_dir=tmp / "pki", seed=seed, citizens=citizens, hub_url=hub.url,
                           postal_hmac_secret=POSTAL_HMAC)
    sandbox_app = create_sandbox_app(config, world)
    with ServedApp(sandbox_app) as sandbox:
        full = sandbox_agencies_config(sandbox.url, tmp / "pki", population_client_id="thads-hub",
                                       population_client_secret="sandbox-secret",
                                       postal_api_key="sandbox-postal-key", postal_hmac_secret=POSTAL_HMAC)
        write_agencies(tmp / "agencies.toml", {
            name: cfg.model_copy(update={"timeout_s": 20.0, "breaker": BreakerPolicy(failures=5, reset_s=1.0)})
            for name, cfg in full.items() if name in AGENCIES})
        upgrade(db_url)
        db = Database(db_url)
        _, key = add_client(db, "case-outbound", SCOPES)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "THADS_DATA_DIR": str(tmp), "THADS_DATABASE_URL": db_url,
               "THADS_REDIS_URL": REDIS_URL, "THADS_REDIS_KEY_PREFIX": prefix, "THADS_CHECKPOINT_SECONDS": "0"}
        try:
            with hub:
                made = OutboundRig(hub.url, sandbox.url, world, db, key, env, tmp, settings)
                made.mocks = sandbox_app.state.agencies
                yield made
        finally:
            db.dispose()
