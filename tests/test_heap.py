"""Servers freeze their start-up heap for their lifetime, and release it when they stop."""

from __future__ import annotations

import gc

import httpx
import pytest

from adapters.heap import startup_heap_frozen
from sandbox_mocks.app import create_sandbox_app
from sandbox_mocks.config import SandboxConfig
from tests.conftest import ServedApp
from tests.sandbox.test_population_mock import make_key_dir


def test_the_block_freezes_what_is_alive_and_releases_it_after() -> None:
    survivors = [object() for _ in range(1000)]
    before = gc.get_freeze_count()
    with startup_heap_frozen():
        assert gc.get_freeze_count() >= before + len(survivors)
    assert gc.get_freeze_count() == 0


def test_the_sandbox_serves_with_its_world_frozen(tmp_path_factory: pytest.TempPathFactory) -> None:
    app = create_sandbox_app(SandboxConfig(key_dir=make_key_dir(tmp_path_factory), seed=7, citizens=500))
    with ServedApp(app) as served:
        assert httpx.get(served.url + "/").status_code == 200
        assert gc.get_freeze_count() > 10_000  # the world, the compiled schemas, the routes
    assert gc.get_freeze_count() == 0
