"""Fixtures every test module may reuse: real PostgreSQL and Redis, isolated per run, and a hub
served over real HTTP on a free port.

Isolation: each run gets its own PostgreSQL schemas (``thads_t_<run>_<n>``) and its own Redis key
prefix (``thads-test:<run>:``); both are removed at the end, and nothing else is touched.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import redis
import uvicorn
from sqlalchemy import create_engine, text

from hub.settings import Settings, get_settings
from hub.store.database import Database
from hub.store.migrate import upgrade

RUN_ID = secrets.token_hex(4)
PG_URL = os.environ.get("THADS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("THADS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_PREFIX = f"thads-test:{RUN_ID}:"

_schema_counter = 0


def _with_search_path(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options={quote(f'-csearch_path={schema}')}"


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[object]:
    engine = create_engine(PG_URL, connect_args={"connect_timeout": 5})
    created: list[str] = []
    yield (engine, created)
    for schema in created:  # one transaction each: dropping them all at once runs out of lock slots
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def pg_url(pg_admin: tuple) -> str:  # type: ignore[type-arg]
    """A fresh, empty PostgreSQL schema for one test, dropped at the end of the run."""
    global _schema_counter
    engine, created = pg_admin
    _schema_counter += 1
    schema = f"thads_t_{RUN_ID}_{_schema_counter}"
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    created.append(schema)
    return _with_search_path(PG_URL, schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every store test runs on both backends; neither is ever skipped."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'thads.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    upgrade(db_url)
    db = Database(db_url)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def redis_prefix() -> Iterator[str]:
    yield REDIS_PREFIX
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=REDIS_PREFIX + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def settings(tmp_path: Path, redis_prefix: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", redis_url=REDIS_URL, redis_key_prefix=redis_prefix)


@pytest.fixture
def hub_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The same settings exported as THADS_* variables, for code that reads the environment (the CLI)."""
    monkeypatch.setenv("THADS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("THADS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("THADS_REDIS_URL", settings.redis_url)
    monkeypatch.setenv("THADS_REDIS_KEY_PREFIX", settings.redis_key_prefix)
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServedApp:
    """An ASGI app served by uvicorn in a background thread on a free loopback port."""

    def __init__(self, app: object, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServedApp:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def hub_server(settings: Settings) -> Iterator[ServedApp]:
    """The hub over real HTTP, migrated, on embedded SQLite and the run's Redis prefix."""
    from hub.api.app import create_app

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    with ServedApp(create_app(settings)) as served:
        yield served
