"""Separate processes for the end-to-end runs (test and bench): the hub API (`thads-hub serve`), a webhook
subscriber, and an in-process worker thread delivering webhooks through the outbox."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from hub.bootstrap import build_services
from hub.inbound.webhooks import WebhookHandler
from hub.outbox.relay import OutboxRelay
from hub.settings import Settings
from hub.worker.runtime import Worker, WorkerOptions

REPO = Path(__file__).resolve().parents[2]


def hub_env(settings: Settings) -> dict[str, str]:
    return {**os.environ, "THADS_DATA_DIR": str(settings.data_dir), "THADS_DATABASE_URL": settings.database_url,
            "THADS_REDIS_URL": settings.redis_url, "THADS_REDIS_KEY_PREFIX": settings.redis_key_prefix,
            "THADS_KEY_DIR": str(settings.keys), "THADS_AGENCIES_FILE": str(settings.agencies),
            "THADS_CHECKPOINT_SECONDS": "0"}


def wait_ready(url: str, timeout_s: float = 90.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"{url} not ready after {timeout_s} s")


class Process:
    def __init__(self, argv: list[str], env: dict[str, str], ready_url: str, log: Path) -> None:
        self.argv, self.env, self.ready_url, self.log = argv, env, ready_url, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 90.0) -> Process:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.argv, env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
        wait_ready(self.ready_url, timeout_s, proc=self.proc)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self, sig: int = signal.SIGTERM) -> None:
        self.stop(sig)
        self.start()


def hub_process(settings: Settings, port: int, log: Path, workers: int = 1) -> Process:
    argv = [str(Path(sys.executable).with_name("thads-hub")), "serve", "--port", str(port), "--log-level", "warning",
            "--workers", str(workers)]
    return Process(argv, hub_env(settings), f"http://127.0.0.1:{port}/health", log)


def subscriber_process(port: int, out: Path, key_dir: Path, log: Path, fail_share: float = 0.1) -> Process:
    argv = [sys.executable, "-m", "tests.inbound.subscriber", "--port", str(port), "--out", str(out),
            "--key-dir", str(key_dir), "--fail-share", str(fail_share)]
    return Process(argv, dict(os.environ), f"http://127.0.0.1:{port}/health", log)


class WorkerThread:
    """A worker delivering webhooks (and relaying the outbox) on its own event loop in a thread."""

    def __init__(self, settings: Settings, *, lease_s: float = 2.0) -> None:
        self.settings, self.lease_s = settings, lease_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._worker: Worker | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            services = build_services(self.settings)
            self._loop = asyncio.get_running_loop()
            self._worker = Worker(services, [WebhookHandler(services)],
                                  WorkerOptions(consumer="e2e-worker", lease_s=self.lease_s, claim_every_s=0.1,
                                                block_s=0.2),
                                  companions=[OutboxRelay(services, "e2e-relay", idle_s=0.05)])
            self._started.set()
            try:
                await self._worker.run()
            finally:
                await services.aclose()

        asyncio.run(main())

    def __enter__(self) -> WorkerThread:
        self._thread.start()
        self._started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._worker is not None:
            self._loop.call_soon_threadsafe(self._worker.stop)
        self._thread.join(timeout=30)
