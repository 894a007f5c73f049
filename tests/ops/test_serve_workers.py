"""`thads-hub serve --workers 2`: two API processes on one port, /metrics summing both, a clean stop."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from hub.settings import Settings
from tests.conftest import free_port
from tests.inbound.processes import wait_ready

CLI = str(Path(sys.executable).with_name("thads-hub"))
REFUSED = ('thads_agency_requests_total{agency="court",direction="inbound",operation="SubmitJudgment",'
           'outcome="refused"}')


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _refused(metrics: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines() if line.startswith(REFUSED))


async def _push_garbage(url: str, n: int) -> list[int]:
    # A connection each, all at once: the processes take them as they come.
    async def one() -> int:
        async with httpx.AsyncClient(timeout=30) as client:
            answer = await client.post(url, content=b"<not-xml", headers={"content-type": "application/xml"})
            return answer.status_code

    return list(await asyncio.gather(*(one() for _ in range(n))))


def test_two_api_processes_serve_one_port_and_metrics_sum_them(settings: Settings, tmp_path: Path) -> None:
    env = {**os.environ, "THADS_DATA_DIR": str(settings.data_dir), "THADS_REDIS_URL": settings.redis_url,
           "THADS_REDIS_KEY_PREFIX": settings.redis_key_prefix, "THADS_CHECKPOINT_SECONDS": "0"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    subprocess.run([CLI, "pki", "init"], env=env, check=True, capture_output=True)
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as log:
        proc = subprocess.Popen([CLI, "serve", "--port", str(port), "--workers", "2", "--log-level", "warning"],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_ready(f"http://127.0.0.1:{port}/health", proc=proc)
        processes = [c for c in _children(proc.pid) if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
        assert len(processes) == 2
        # No agencies file: every push is refused (no court connector), and each refusal is counted.
        codes = asyncio.run(_push_garbage(f"http://127.0.0.1:{port}/v1/inbound/judgments", 24))
        assert codes == [503] * 24
        for _ in range(6):  # whichever process answers the scrape counts the refusals of both
            assert _refused(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text) == 24
        assert (settings.data_dir / "metrics-api").is_dir()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0
    assert all(not Path(f"/proc/{c}").exists() for c in processes)
