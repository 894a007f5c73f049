"""A re-verification batch against agency quotas: how close to the quota-bound minimum does it finish?

    .venv/bin/python bench/bench_batches.py [--subjects 5000] [--quota 25] [--workers 2] [--latency-ms 50]

Processes: the sandbox (all mocks, a fixed latency), the hub API (uvicorn), ``--workers`` ``thads-hub worker``
processes, and this driver. Every agency (population DB, land registry, two banks) grants ``--quota`` calls
per second; each subject is verified for identity, land and bank accounts, so it costs one call at each.
The quota-bound minimum is therefore subjects / quota seconds whatever the hub does; the batch's elapsed
time (upload accepted -> last subject done, from the batch's own record) is compared with it. The peak
per-second rate is counted at each mock from its own record of when calls arrived (the busiest second of
the clock), the figure an agency counting a quota per second would hold the hub to.

Targets from the issue: 5,000 subjects at 25/s finish within 1.05x of the 200 s minimum, peak <= quota.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bench.bench_verification import _hub, _sandbox, _wait, bench_site
from hub.agencies import write_agencies
from hub.clients import add_client
from hub.store.database import Database

SEED, CITIZENS = 2026, 10_000
THADS = str(Path(sys.executable).with_name("thads-hub"))


def peak_per_second(sandbox_url: str, agency: str, since: float) -> tuple[int, int]:
    received = httpx.get(f"{sandbox_url}/{agency.replace('bank-', 'banks/')}/_admin/recorder", timeout=30).json()
    # As the agency counts: by arrival, the OAuth token endpoint (not an API call) aside.
    times = sorted(t for t in (dt.datetime.fromisoformat(r["arrived_at"]).timestamp()
                               for r in received["received"] if r["operation"] != "CapToken") if t >= since)
    # Per second as a quota counts them: the calls that arrived in each second of the clock.
    per_second = Counter(int(t) for t in times)
    peak = max(per_second.values(), default=0)
    return peak, len(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subjects", type=int, default=5000)
    ap.add_argument("--quota", type=float, default=25.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--latency-ms", type=float, default=50.0)
    args = ap.parse_args()
    data, db_url, sb_port, hub_port, config = bench_site()
    sandbox_url = f"http://127.0.0.1:{sb_port}"
    wanted = ["population", "land", *[a for a in config if a.startswith("bank-")][:2]]
    agencies = {a: config[a].model_copy(update={"rate_limit_per_s": args.quota, "timeout_s": 10.0}) for a in wanted}
    write_agencies(data / "agencies.toml", agencies)
    prefix = f"thads-bench-batch-{os.getpid()}:"
    env = {**os.environ, "THADS_DATA_DIR": str(data), "THADS_DATABASE_URL": db_url, "THADS_REDIS_KEY_PREFIX": prefix,
           "THADS_CHECKPOINT_SECONDS": "0"}
    _, key = add_client(Database(db_url), "bench", ["verify:identity", "verify:land", "verify:bank_accounts"])
    ctx = multiprocessing.get_context("spawn")
    sandbox = ctx.Process(target=_sandbox, args=(str(data / "pki"), sb_port), daemon=True)
    sandbox.start()
    _wait(sandbox_url + "/")
    for agency in agencies:
        httpx.put(f"{sandbox_url}/{agency.replace('bank-', 'banks/')}/_admin/faults",
                  json={"latency_ms": args.latency_ms}).raise_for_status()
    hub = ctx.Process(target=_hub, args=(env, hub_port), daemon=True)
    hub.start()
    _wait(f"http://127.0.0.1:{hub_port}/health")
    workers = [subprocess.Popen([THADS, "worker", "--queue", "verification-batch", "--consumer", f"bench-{i}",
                                 "--log-level", "warning"], env=env) for i in range(args.workers)]
    from sandbox_mocks.seed.world import build_world

    people = [c.person_id for c in build_world(seed=SEED, citizens=CITIZENS).citizens[:args.subjects]]
    body = "\n".join(json.dumps({"person_id": p, "case_ref": f"THADS-79-2026-{i:05d}"}) for i, p in enumerate(people))
    headers = {"Authorization": f"Bearer {key}"}
    url = f"http://127.0.0.1:{hub_port}/v1/verification-batches"
    try:
        since = time.time()
        accepted = httpx.post(url, content=body.encode(), timeout=120, params={
            "officer": "bench", "purpose": "benchmark: periodic re-verification",
            "scopes": ["identity", "land", "bank_accounts"]},
            headers={**headers, "Content-Type": "application/x-ndjson"})
        accepted.raise_for_status()
        batch = accepted.json()
        while True:
            state = httpx.get(f"{url}/{batch['id']}", headers=headers, timeout=30).json()
            if state["status"] == "done":
                break
            print(f"  {state['done']:>6}/{state['total']}  {state['subjects_per_second'] or 0:.1f}/s", flush=True)
            time.sleep(10)
    finally:
        for w in workers:
            w.terminate()
        for w in workers:
            w.wait(30)
    elapsed = (dt.datetime.fromisoformat(state["completed_at"]) - dt.datetime.fromisoformat(state["created_at"]))
    minimum = args.subjects / args.quota
    peaks = {a: peak_per_second(sandbox_url, a, since) for a in agencies}
    dump = {a: httpx.get(f"{sandbox_url}/{a.replace('bank-', 'banks/')}/_admin/recorder", timeout=30).json() for a in agencies}
    Path('/tmp/runs/rec.json').write_text(json.dumps(dump))
    hub.terminate()
    sandbox.terminate()
    print(f"machine: {os.cpu_count()} cores; sandbox, hub API, {args.workers} workers and this driver on it; "
          f"agencies at a fixed {args.latency_ms:.0f} ms, each with a quota of {args.quota:g} calls/s")
    print(f"{args.subjects} subjects x (identity, land, bank accounts) -> {', '.join(agencies)}")
    print(f"completeness: {state['completeness']}")
    print(f"elapsed (batch record, accepted -> last subject done): {elapsed.total_seconds():.1f} s")
    print(f"quota-bound minimum (subjects / quota): {minimum:.1f} s")
    print(f"elapsed / minimum: {elapsed.total_seconds() / minimum:.3f}  (target <= 1.05)")
    for agency, (peak, total) in peaks.items():
        print(f"  {agency:<12} calls received {total:>6}, peak per clock second {peak:>3}  (quota {args.quota:g})")


if __name__ == "__main__":
    main()
