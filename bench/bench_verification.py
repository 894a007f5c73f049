"""Verifications at a steady offered rate (open loop) against the sandbox with a fixed agency latency.

    .venv/bin/python bench/bench_verification.py [--rate 20] [--seconds 20] [--latency-ms 50] [--api-processes 1]

Processes: the sandbox (all mocks in one process, as `thads-hub sandbox` serves them, faults set to a fixed
latency, sigma 0), the hub (uvicorn, its connectors pointing at the sandbox), and this load generator, which
starts one verification every 1/rate seconds whatever the previous ones are doing (open loop: a slow hub
cannot slow the arrivals down, as happens with real case systems). Each verification asks identity + land +
bank accounts of a person, so it fans out to the population DB, the land registry and the configured banks.

Printed in the same run:
- the slowest agency's latency: each agency called alone through its own connector (after one untimed
  call: the OAuth token and the pooled connections are per process, not per verification), p50 and p99;
- the hub's end-to-end latency per verification, p50 and p99, and the ratios to the slowest agency;
- where the time goes: medians of the report's own scatter-gather span and of its slowest and fastest
  source (the rest of the end-to-end time is the API, the report's transaction and HTTP);
- the hub process's CPU milliseconds per verification (from /proc, user + system; with ``--api-processes N``
  the hub runs N API processes on its port, as `thads-hub serve --workers N`, and their CPU is summed).
Targets from the issue: hub p50 <= 1.15x and p99 <= 1.5x the slowest agency; at least 20/s.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from adapters.redis_client import async_client
from hub.agencies import AgencyConfig, write_agencies
from hub.agency_ids import sandbox_agencies
from hub.clients import add_client
from hub.connector import AccountSource, IdentitySource, ParcelSource
from hub.connector_registry import discover
from hub.connectors_runtime import build_connectors
from hub.resilience.context import CallContext
from hub.sandbox_cli import sandbox_agencies_config
from hub.settings import Settings
from hub.store.database import Database
from hub.store.migrate import upgrade
from hub.trust.pki_init import init_pki

SEED, CITIZENS = 2026, 10_000
TICKS = os.sysconf("SC_CLK_TCK")


def _sandbox(key_dir: str, port: int) -> None:
    import uvicorn

    from sandbox_mocks.app import create_sandbox_app
    from sandbox_mocks.config import SandboxConfig

    uvicorn.run(create_sandbox_app(SandboxConfig(key_dir=Path(key_dir), port=port, seed=SEED, citizens=CITIZENS)),
                host="127.0.0.1", port=port, log_level="error", access_log=False)


def _hub(env: dict[str, str], port: int, processes: int = 1) -> None:
    os.environ.update(env)
    import uvicorn

    from hub.api.app import create_app

    if processes == 1:
        uvicorn.run(create_app(), host="127.0.0.1", port=port, log_level="error", access_log=False)
    else:  # as `thads-hub serve --workers N` runs them
        uvicorn.run("hub.api.app:create_app", factory=True, workers=processes, host="127.0.0.1", port=port,
                    log_level="error", access_log=False)


def _cpu_ms(pid: int) -> float:
    """User + system CPU of ``pid`` and of its live descendants (the API processes under uvicorn's manager)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) * 1000 / TICKS
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return own + sum(_cpu_ms(int(c)) for c in children if Path(f"/proc/{c}").exists())


def _wait(url: str) -> None:
    for _ in range(300):
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _agency_alone(settings: Settings, people: list[str], n: int) -> dict[str, tuple[float, float]]:
    redis = async_client(settings.redis_url)
    connectors = build_connectors(settings, redis)
    await connectors.start()
    out: dict[str, tuple[float, float]] = {}
    try:
        for agency, c in connectors.connectors.items():
            times = []
            # One call first, untimed: the population DB's OAuth token and each pooled connection are fetched
            # once per process, and the hub (warmed up the same way) does not pay them per verification.
            for i in range(-1, n):
                call = CallContext.within(10, case_ref="BENCH", officer="bench", purpose="benchmark")
                t = time.perf_counter()
                if isinstance(c, IdentitySource):
                    await c.lookup_person(people[i % len(people)], call)
                elif isinstance(c, ParcelSource):
                    await c.find_parcels(people[i % len(people)], call)
                elif isinstance(c, AccountSource):
                    await c.find_accounts(people[i % len(people)], call)
                if i >= 0:
                    times.append((time.perf_counter() - t) * 1000)
            out[agency] = (statistics.median(times), pct(times, 0.99))
    finally:
        await connectors.aclose()
        await redis.aclose()
    return out


async def _load(url: str, key: str, people: list[str], rate: float, seconds: float,
                scopes: list[str]) -> tuple[list[float], int, list[tuple[float, float, float]]]:
    latencies: list[float] = []
    breakdown: list[tuple[float, float, float]] = []  # per verification: scatter span, slowest, fastest source
    errors = 0
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        async def one(i: int) -> None:
            nonlocal errors
            body = {"person_id": people[i % len(people)], "scopes": scopes,
                    "case_ref": "BENCH-1", "officer": "bench", "purpose": "benchmark", "deadline_ms": 5000}
            t = time.perf_counter()
            r = await http.post(url, json=body, headers={"Authorization": f"Bearer {key}"})
            if r.status_code == 200 and r.json()["completeness"] == "complete":
                latencies.append((time.perf_counter() - t) * 1000)
                report = r.json()
                span = (dt.datetime.fromisoformat(report["completed_at"])
                        - dt.datetime.fromisoformat(report["requested_at"])).total_seconds() * 1000
                sources = sorted(s["duration_ms"] for s in report["sources"])
                breakdown.append((span, sources[-1], sources[0]))
            else:
                errors += 1
                if errors == 1:  # the first one says why
                    print(f"incomplete: {r.status_code} {r.text[:1500]}", file=sys.stderr)

        start, tasks, i = time.perf_counter(), [], 0
        while time.perf_counter() - start < seconds:
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(one(i)))
            i += 1
        await asyncio.gather(*tasks)
    return latencies, errors, breakdown


def _config_at(data: Path, port: int) -> dict[str, AgencyConfig]:
    """The agencies config that points the hub at a sandbox on ``port``."""
    return sandbox_agencies_config(f"http://127.0.0.1:{port}", data / "pki", population_client_id="thads-hub",
                                   population_client_secret="sandbox-secret", postal_api_key="sandbox-postal-key",
                                   postal_hmac_secret="sandbox-postal-hmac")


def bench_site() -> tuple[Path, str, int, int, dict[str, AgencyConfig]]:
    """A fresh data dir with a sandbox PKI and an upgraded SQLite store, the ports, and the agencies config
    that points the hub at a sandbox on the first port."""
    data = Path(tempfile.mkdtemp())
    init_pki(data / "pki", sandbox_agencies())
    db_url = f"sqlite:///{data / 'thads.db'}"
    upgrade(db_url)
    sb_port, hub_port = 19100 + os.getpid() % 500, 19700 + os.getpid() % 500
    return data, db_url, sb_port, hub_port, _config_at(data, sb_port)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=20.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    ap.add_argument("--banks", type=int, default=2, help="banks to fan out to (population + land + banks agencies)")
    ap.add_argument("--api-processes", type=int, default=1, help="hub API processes on the one port (serve --workers)")
    args = ap.parse_args()
    data, db_url, sb_port, hub_port, config = bench_site()
    installed = discover()
    wanted = [a for a in ["population", "land", *[a for a in config if a.startswith("bank-")][: args.banks]]
              if a.split("-")[0] in installed]
    agencies = {a: config[a].model_copy(update={"rate_limit_per_s": 10_000.0, "concurrency": 256}) for a in wanted}
    write_agencies(data / "agencies.toml", agencies)
    prefix = f"thads-bench-{os.getpid()}:"
    env = {"THADS_DATA_DIR": str(data), "THADS_DATABASE_URL": db_url, "THADS_REDIS_KEY_PREFIX": prefix,
           "THADS_CHECKPOINT_SECONDS": "0"}
    settings = Settings(data_dir=data, database_url=db_url, redis_key_prefix=prefix)
    db = Database(db_url)
    _, key = add_client(db, "bench", ["verify:identity", "verify:land", "verify:bank_accounts"])
    ctx = multiprocessing.get_context("spawn")
    sandbox = ctx.Process(target=_sandbox, args=(str(data / "pki"), sb_port), daemon=True)
    sandbox.start()
    _wait(f"http://127.0.0.1:{sb_port}/")
    for agency in agencies:
        path = agency.replace("bank-", "banks/")
        httpx.put(f"http://127.0.0.1:{sb_port}/{path}/_admin/faults",
                  json={"latency_ms": args.latency_ms}).raise_for_status()
    hub = ctx.Process(target=_hub, args=(env, hub_port, args.api_processes),
                      daemon=args.api_processes == 1)  # a daemonic process may not start processes of its own
    hub.start()
    _wait(f"http://127.0.0.1:{hub_port}/health")
    from sandbox_mocks.seed.world import build_world

    world = build_world(seed=SEED, citizens=CITIZENS)
    people = [c.person_id for c in world.citizens[:2000]]
    alone = asyncio.run(_agency_alone(settings, people, 60))
    scopes = ["identity", "land"] + (["bank_accounts"] if any(a.startswith("bank-") for a in agencies) else [])
    asyncio.run(_load(f"http://127.0.0.1:{hub_port}/v1/verifications", key, people, args.rate, 2.0, scopes))
    cpu0 = _cpu_ms(hub.pid)  # type: ignore[arg-type]
    latencies, errors, breakdown = asyncio.run(_load(f"http://127.0.0.1:{hub_port}/v1/verifications", key, people,
                                          args.rate, args.seconds, scopes))
    cpu = (_cpu_ms(hub.pid) - cpu0) / max(1, len(latencies) + errors)  # type: ignore[arg-type]
    hub.terminate()
    sandbox.terminate()
    slow50 = max(v[0] for v in alone.values())
    slow99 = max(v[1] for v in alone.values())
    if not latencies:
        raise SystemExit(f"no verification completed ({errors} incomplete): is every connector installed?")
    p50, p99 = statistics.median(latencies), pct(latencies, 0.99)
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; sandbox, hub ({args.api_processes} "
          f"API process{'es' if args.api_processes > 1 else ''}) and load generator; agencies at a fixed "
          f"{args.latency_ms:.0f} ms: {', '.join(agencies)}")
    for agency, (a50, a99) in alone.items():
        print(f"  {agency:<12} alone through its connector: p50 {a50:6.1f} ms  p99 {a99:6.1f} ms")
    print(f"offered {args.rate:.0f} verifications/s for {args.seconds:.0f} s (open loop): {len(latencies)} complete, "
          f"{errors} not complete")
    print(f"hub end to end: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    print(f"hub p50 / slowest agency p50: {p50 / slow50:.2f}  (target <= 1.15)")
    print(f"hub p99 / slowest agency p99: {p99 / slow99:.2f}  (target <= 1.5)")
    print("where the time goes (medians): the report's scatter-gather span {:.1f} ms, its slowest source {:.1f} ms, "
          "its fastest {:.1f} ms".format(*(statistics.median(b[k] for b in breakdown) for k in range(3))))
    print(f"hub CPU per verification: {cpu:.1f} ms")


if __name__ == "__main__":
    main()
