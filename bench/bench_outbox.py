"""Commands through the outbox (issue #10): how fast one worker moves them, its memory with a backlog, and
whether a run with killed workers and an agency outage loses or repeats anything.

    .venv/bin/python bench/bench_outbox.py [--part all|throughput|memory|resilience] [--commands 4000]
        [--queued 10000] [--resilience-commands 1000] [--outage-s 60] [--kill-every-s 5]

(a) throughput: commands staged by ``CommandService.accept`` (the API's transaction: rows, history, outbox
    rows), then ONE in-process worker (``CommandHandler`` at its default concurrency, with its outbox relay companion)
    carries them to a no-op land registry. Inside the measurement, per command: the relay's SQL claim and
    XADD and its SQL mark; the worker's read, its SQL claim with a history entry, the DangKyHanChe request
    built by the land mapping, wrapped in the envelope and signed with the hub's key (RSA-2048), the agency
    guard's Redis rate-limit and breaker script, the exchange written to the message log (request and
    answer, hash-chained), the SQL acknowledgment with its history entry, and XACK+XDEL. Outside it: the
    network and the agency (the transport answers at once), and verifying a signed answer (bench_envelope:
    ~1.5 ms). Run on SQLite and on PostgreSQL; the floor is the same no-op connector called directly with
    the same concurrency (signing, guard and log, without the outbox, the queue or the command's state).
(b) memory: a real `thads-hub worker` process, first idle, then with ``--queued`` commands queued for a land
    registry that never answers (as many in flight as the handler allows, the rest waiting): its RSS (VmRSS,
    and the peak VmHWM).
(c) resilience: the sandbox, the hub API and two `thads-hub worker` processes; ``--resilience-commands``
    commands posted over HTTP (freezes of one account each, and their copies to the procuracy; 1% of them
    at closed accounts, which can never succeed), a worker killed with SIGKILL every ``--kill-every-s`` and
    restarted, one bank down for ``--outage-s``. Checked: every command ended, the failed ones are exactly the
    closed accounts and the only dead letters, each effect happened once at the mocks.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import datetime as dt
import json
import multiprocessing
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import redis
from sqlalchemy import create_engine, func, select, text

from adapters.envelope import EnvelopeFields, EnvelopeSigner, build_envelope
from adapters.jws_envelope import JwsSigner
from adapters.trust_store import TrustStore
from bench.bench_verification import SEED, _hub, _sandbox, _wait, bench_site
from hub.agencies import AgencyConfig, write_agencies
from hub.audit.recorder import ExchangeRecorder
from hub.audit.wiring import message_log
from hub.bootstrap import Services, build_services
from hub.clients import ApiClient, add_client
from hub.commands import QUEUE, CommandService
from hub.commands.handler import CommandHandler
from hub.commands.requests import RestrictionRequest
from hub.connector import Connector, ConnectorContext, Health, OperationSpec
from hub.connectors_runtime import ConnectorSet
from hub.model.decisions import AgencyReceipt, DecisionRef, Organ
from hub.model.measures import LandRestriction, RestrictionKind
from hub.outbox.relay import companion as relay
from hub.resilience.context import CallContext
from hub.resilience.guard import AgencyGuard
from hub.settings import Settings
from hub.store.database import Database
from hub.store.migrate import upgrade
from hub.store.tables import commands, outbox
from hub.trust.keys import hub_signing_key
from hub.worker.runtime import Worker, WorkerOptions
from mappings import land as ml
from sandbox_mocks.seed.world import build_world

THADS = str(Path(sys.executable).with_name("thads-hub"))
PG_URL = os.environ.get("THADS_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
OFFICE = Organ(organ_id="G12.HCM.079", name="Thi hành án dân sự Thành phố Hồ Chí Minh")
PROCURACY = {"organ_id": "H37.HCM.079", "name": "Viện kiểm sát nhân dân Thành phố Hồ Chí Minh"}
WHO = {"officer": "Chấp hành viên Lê Văn Tám", "purpose": "Cưỡng chế thi hành án (benchmark)"}


# --- (a) throughput ----------------------------------------------------------------------------------------

class NoopLandRegistry(Connector):
    """A land registry that does nothing: the hub's side of the call is whole, the transport answers at once."""

    kind: ClassVar[str] = "land"
    operations: ClassVar[tuple[OperationSpec, ...]] = ()
    _ANSWER = b"<DangKyHanChePhanHoi/>"

    async def health(self) -> Health:
        return Health(self.agency_id, True, "no-op")

    async def restrict_parcel(self, restriction: LandRestriction, decision: DecisionRef,
                              call: CallContext) -> AgencyReceipt:
        request = ml.register_request(restriction, decision.office.name, decision.issued_on,
                                      ml.register_note(restriction))
        async with self.ctx.recorder.exchange_async("outbound", self.agency_id, ml.REGISTER, service="land") as ex:

            async def attempt(timeout_s: float) -> AgencyReceipt:
                now = dt.datetime.now(dt.UTC)
                header = EnvelopeFields(message_id=str(uuid.uuid4()), from_agency="hub", to_agency=self.agency_id,
                                        service="land", operation=ml.REGISTER, created=now,
                                        expires=now + dt.timedelta(minutes=5), case_ref=call.case_ref,
                                        officer=call.officer, purpose=call.purpose)
                ex.request(self.ctx.xml_signer.sign_bytes(build_envelope(header, copy.deepcopy(request))), header)
                ex.response(self._ANSWER, None, outcome="ok")
                return AgencyReceipt(reference=f"DK-{restriction.id.hex[:12]}", at=now)

            return await self.ctx.guard.call(attempt, call, idempotent=False)

    async def lift_parcel_restriction(self, restriction: LandRestriction, lift: DecisionRef,
                                      call: CallContext) -> AgencyReceipt:
        # The bench only registers restrictions; a lift answers like the registry would, with no exchange.
        return AgencyReceipt(reference=f"GT-{restriction.id.hex[:12]}", at=dt.datetime.now(dt.UTC))


def noop_connectors(services: Services) -> ConnectorSet:
    settings = services.settings
    key, cert = hub_signing_key(settings)
    config = AgencyConfig(protocol="soap", base_url="http://noop.invalid", rate_limit_per_s=1_000_000.0,
                          concurrency=1024)
    ctx = ConnectorContext(agency_id="land", config=config, trust=TrustStore.load(settings.keys),
                           xml_signer=EnvelopeSigner(key, cert), jws_signer=JwsSigner(key, cert),
                           recorder=ExchangeRecorder(message_log(settings, services.db)),
                           guard=AgencyGuard("land", config, services.redis, settings.redis_key_prefix))
    return ConnectorSet({"land": NoopLandRegistry(ctx)})


def serials(start: int, n: int) -> list[str]:
    return [f"CS{i:08d}" for i in range(start, start + n)]


def stage(db: Database, client: ApiClient, n: int, *, start: int = 0) -> float:
    """Stage ``n`` land restriction commands through the API's transaction, 100 per request; seconds taken."""
    service, began = CommandService(db), time.perf_counter()
    for first in range(start, start + n, 100):
        decision = DecisionRef(number=str(first // 100 + 1), notation="QĐ-CCTHADS", issued_on=dt.date(2026, 11, 20),
                               office=OFFICE)
        service.accept(client, RestrictionRequest(
            case_ref=f"THADS-BENCH-{first // 100:05d}", **WHO, decision=decision,
            restriction_kind=RestrictionKind.HALT_TRANSFER,
            certificate_serials=serials(first, min(100, start + n - first))))
    return time.perf_counter() - began


def acknowledged(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(commands)
                                .where(commands.c.status == "acknowledged")).scalar_one())


async def run_worker(settings: Settings, n: int) -> tuple[float, float, float]:
    """One in-process worker until ``n`` commands are acknowledged: elapsed s, steady-state commands/s, and
    CPU ms per command (this process: the worker, its relay, its database threads)."""
    services = build_services(settings)
    services.connectors = noop_connectors(services)
    worker = Worker(services, [CommandHandler(services)], WorkerOptions(consumer="bench-throughput"),
                    [relay(services, "bench-throughput")])
    began, cpu = time.perf_counter(), time.process_time()
    task = asyncio.create_task(worker.run())
    # The worker's own count, not a SQL count: polling the database from this process would put the bench's
    # queries into the worker's CPU figure. Checked against the rows once it is done.
    while worker.counters.handled < n and not task.done():
        await asyncio.sleep(0.02)
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    worker.stop()
    await asyncio.wait([task], timeout=30)
    done = await asyncio.to_thread(acknowledged, services.db)
    if done != n:
        raise SystemExit(f"the worker handled {worker.counters.handled} entries but {done} of {n} commands are "
                         "acknowledged")
    with services.db.engine.connect() as conn:
        first, last = conn.execute(select(func.min(commands.c.completed_at), func.max(commands.c.completed_at))).one()
    await services.aclose()
    return elapsed, (n - 1) / max((last - first).total_seconds(), 1e-9), cpu * 1000 / n


async def floor(settings: Settings, n: int, concurrency: int = CommandHandler.concurrency) -> tuple[float, float]:
    """The no-op connector alone, ``concurrency`` calls at a time, without outbox, queue or state: commands/s
    and CPU ms per command."""
    services = build_services(settings)
    land = noop_connectors(services).connectors["land"]
    assert isinstance(land, NoopLandRegistry)
    decision = DecisionRef(number="9", notation="QĐ-CCTHADS", issued_on=dt.date(2026, 11, 20), office=OFFICE)
    slots = asyncio.Semaphore(concurrency)

    async def one(serial: str) -> None:
        async with slots:
            await land.restrict_parcel(LandRestriction(decision_ref="9/QĐ-CCTHADS", kind=RestrictionKind.SEIZURE,
                                                       certificate_serial=serial), decision,
                                       CallContext.within(30, case_ref="THADS-FLOOR", **WHO))

    began, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one(s) for s in serials(90_000_000, n)))
    elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu
    await services.aclose()
    return n / elapsed, cpu * 1000 / n


def pg_schema_url(schema: str) -> str:
    from urllib.parse import quote

    return f"{PG_URL}{'&' if '?' in PG_URL else '?'}options={quote(f'-csearch_path={schema}')}"


def throughput(n: int) -> None:
    print(f"\n(a) one worker, {n:,} commands to a no-op land registry ({CommandHandler.concurrency} in flight)")
    data, sqlite_url, *_ = bench_site()
    schema = f"thads_bench_outbox_{os.getpid()}"
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    rows = []
    try:
        for name, url in (("SQLite", sqlite_url), ("PostgreSQL", pg_schema_url(schema))):
            upgrade(url)
            settings = Settings(data_dir=data, database_url=url, checkpoint_seconds=0,
                                redis_key_prefix=f"thads-bench-outbox-{os.getpid()}-{name.lower()}:")
            db = Database(url)
            client, _ = add_client(db, "bench", ["command:land"])
            staged = stage(db, client, n)
            elapsed, steady, cpu = asyncio.run(run_worker(settings, n))
            bare, bare_cpu = asyncio.run(floor(settings, min(n, 2000)))
            rows.append((name, n / staged, n / elapsed, steady, cpu, bare, bare_cpu))
            db.dispose()
            _clean_redis(settings.redis_key_prefix)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
    print(f"{'database':<11} | {'staged/s':>8} | {'worker cmd/s':>12} | {'steady':>6} | {'CPU ms':>6} | "
          f"{'floor cmd/s':>11} | {'CPU ms':>6} | worker/floor")
    for name, staged_rate, rate, steady, cpu, bare, bare_cpu in rows:
        print(f"{name:<11} | {staged_rate:>8,.0f} | {rate:>12,.0f} | {steady:>6,.0f} | {cpu:>6.2f} | {bare:>11,.0f} | "
              f"{bare_cpu:>6.2f} | {rate / bare:>11.0%}")
    print("staged/s: commands accepted per second (100 per request, one transaction each); worker: start to last "
          "acknowledgment; steady: first to last acknowledgment; CPU ms: this process's CPU per command; floor: the "
          "connector alone (signing, guard, log), no outbox, queue or state")


def _clean_redis(prefix: str) -> None:
    client = redis.Redis.from_url(os.environ.get("THADS_REDIS_URL", "redis://127.0.0.1:6379/0"))
    keys = list(client.scan_iter(match=prefix + "*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


# --- (b) memory --------------------------------------------------------------------------------------------

def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def _sample_rss(pid: int, seconds: float) -> int:
    peak, ends = 0, time.monotonic() + seconds
    while time.monotonic() < ends:
        peak = max(peak, _status_kb(pid, "VmRSS"))
        time.sleep(0.2)
    return peak


def memory(queued: int) -> None:
    print(f"\n(b) a `thads-hub worker` process, idle and then with {queued:,} commands queued")
    data, db_url, *_ = bench_site()
    silent = socket.socket()  # a land registry that accepts connections and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(1024)
    port = silent.getsockname()[1]
    write_agencies(data / "agencies.toml", {"land": AgencyConfig(
        protocol="soap", base_url=f"http://127.0.0.1:{port}/land", timeout_s=120.0, certificate=data / "pki/land.pem")})
    prefix = f"thads-bench-outbox-mem-{os.getpid()}:"
    env = {**os.environ, "THADS_DATA_DIR": str(data), "THADS_DATABASE_URL": db_url, "THADS_REDIS_KEY_PREFIX": prefix,
           "THADS_CHECKPOINT_SECONDS": "0"}
    db = Database(db_url)
    client, _ = add_client(db, "bench", ["command:land"])
    worker = subprocess.Popen([THADS, "worker", "--queue", QUEUE, "--consumer", "bench-mem", "--log-level", "warning"],
                              env=env)
    try:
        time.sleep(8)
        idle = _sample_rss(worker.pid, 5)
        staged = stage(db, client, queued)
        r = redis.Redis.from_url(os.environ.get("THADS_REDIS_URL", "redis://127.0.0.1:6379/0"))
        key = f"{prefix}queue:{QUEUE}"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with db.engine.connect() as conn:
                waiting = conn.execute(select(func.count()).select_from(outbox)
                                       .where(outbox.c.published_at.is_(None))).scalar_one()
            if waiting == 0:
                break
            time.sleep(0.5)
        busy = _sample_rss(worker.pid, 15)
        backlog = int(r.xlen(key))
        pending = int(r.xpending(key, "workers")["pending"])
        stream_bytes = int(r.memory_usage(key) or 0)
        hwm = _status_kb(worker.pid, "VmHWM")
        r.close()
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        silent.close()
        db.dispose()
        _clean_redis(prefix)
    print(f"{'state':<34} | {'RSS MB':>7}")
    print(f"{'idle (connectors built, no work)':<34} | {idle / 1024:>7.1f}")
    print(f"{f'{queued:,} commands queued':<34} | {busy / 1024:>7.1f}")
    print(f"{'peak over the run (VmHWM)':<34} | {hwm / 1024:>7.1f}")
    print(f"staged in {staged:.1f} s; on the stream: {backlog:,} entries ({pending} in flight at the worker), "
          f"{stream_bytes / 1024 / 1024:.1f} MB of Redis")


# --- (c) resilience ----------------------------------------------------------------------------------------

def _db_states(db: Database) -> Counter[str]:
    with db.engine.connect() as conn:
        return Counter(dict(conn.execute(select(commands.c.status, func.count()).group_by(commands.c.status)).all()))


def resilience(n: int, outage_s: float, kill_every_s: float) -> None:
    print(f"\n(c) resilience: {n:,} commands, a worker killed every {kill_every_s:.0f} s, bank-970436 down "
          f"for {outage_s:.0f} s")
    data, db_url, sb_port, hub_port, config = bench_site()
    sandbox_url = f"http://127.0.0.1:{sb_port}"
    banks = [a for a in config if a.startswith("bank-")]
    write_agencies(data / "agencies.toml", {a: config[a] for a in ["procuracy", *banks]})
    prefix = f"thads-bench-outbox-res-{os.getpid()}:"
    env = {**os.environ, "THADS_DATA_DIR": str(data), "THADS_DATABASE_URL": db_url, "THADS_REDIS_KEY_PREFIX": prefix,
           "THADS_CHECKPOINT_SECONDS": "0"}
    db = Database(db_url)
    _, key = add_client(db, "bench", ["command:freeze"])
    world = build_world(seed=SEED, citizens=10_000)
    requests = n // 2
    closed = [a for a in world.accounts if a.status == "closed"][: max(1, requests // 100)]
    active = [a for a in world.accounts if a.status == "active"][: requests - len(closed)]
    chosen = active + closed
    ctx = multiprocessing.get_context("spawn")
    sandbox = ctx.Process(target=_quiet_sandbox, args=(str(data / "pki"), sb_port), daemon=True)
    sandbox.start()
    _wait(sandbox_url + "/")
    for agency in ["procuracy", *banks]:
        httpx.put(f"{sandbox_url}/{agency.replace('bank-', 'banks/')}/_admin/faults",
                  json={"latency_ms": 50}).raise_for_status()
    hub = ctx.Process(target=_hub, args=(env, hub_port), daemon=True)
    hub.start()
    _wait(f"http://127.0.0.1:{hub_port}/health")
    log = (data / "workers.log").open("ab")

    def start_worker(name: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen([THADS, "worker", "--queue", QUEUE, "--consumer", name, "--lease", "5",
                                 "--log-level", "warning"], env=env, stdout=log, stderr=subprocess.STDOUT)

    workers = {name: start_worker(name) for name in ("res-0", "res-1")}
    stop, kills = threading.Event(), [0]

    def killer() -> None:
        turn = 0
        while not stop.wait(kill_every_s):
            name = f"res-{turn % 2}"
            workers[name].send_signal(signal.SIGKILL)
            workers[name].wait()
            kills[0] += 1
            workers[name] = start_worker(name)
            turn += 1

    began = time.monotonic()
    chaos = threading.Thread(target=killer, daemon=True)
    chaos.start()
    outage = threading.Timer(10.0, _outage, args=(sandbox_url, "bank-970436", outage_s))
    outage.start()
    ids: list[str] = []
    with httpx.Client(base_url=f"http://127.0.0.1:{hub_port}", headers={"Authorization": f"Bearer {key}"},
                      timeout=30) as http:
        for i, account in enumerate(chosen):
            body = {"case_ref": f"THADS-RES-{i:05d}", **WHO, "accounts": [
                {"bank_bin": account.bank_bin, "account_number": account.account_number, "amount_vnd": 50_000}],
                "decision": {"number": str(i + 1), "notation": "QĐ-CCTHADS", "issued_on": "2026-11-20",
                             "kind": "account_freeze", "office": OFFICE.model_dump(), "procuracy": PROCURACY,
                             "place": "TP Hồ Chí Minh", "subject": "Phong tỏa tài khoản", "signer_name": "Lê Văn Tám",
                             "signer_position": "Chấp hành viên"}}
            r = http.post("/v1/commands/account-freezes", json=body)
            r.raise_for_status()
            ids += [c["id"] for c in r.json()["commands"]]
    posted = time.monotonic() - began
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        states = _db_states(db)
        if sum(states.values()) == len(ids) and states["queued"] == states["sent"] == 0:
            break
        time.sleep(1)
    elapsed = time.monotonic() - began
    stop.set()
    outage.cancel()
    chaos.join()
    for proc in workers.values():
        proc.send_signal(signal.SIGTERM)
    for proc in workers.values():
        proc.wait(60)
    _report_resilience(db, sandbox_url, prefix, ids, closed, kills[0], posted, elapsed, ["procuracy", *banks])
    sandbox.terminate()
    hub.terminate()
    db.dispose()
    _clean_redis(prefix)


def _quiet_sandbox(key_dir: str, port: int) -> None:
    """The sandbox, without the tracebacks its mocks log when a killed worker drops a request half sent."""
    import logging

    logging.disable(logging.ERROR)
    _sandbox(key_dir, port)


def _outage(sandbox_url: str, agency: str, seconds: float) -> None:
    path = f"{sandbox_url}/{agency.replace('bank-', 'banks/')}/_admin/faults"
    httpx.put(path, json={"outage": True}).raise_for_status()
    print(f"  {agency} down at {dt.datetime.now():%H:%M:%S}", flush=True)
    time.sleep(seconds)
    httpx.put(path, json={"outage": False}).raise_for_status()
    print(f"  {agency} back at {dt.datetime.now():%H:%M:%S}", flush=True)


def _fields(flat_json: str) -> dict[str, str]:
    flat = json.loads(flat_json)
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _report_resilience(db: Database, sandbox_url: str, prefix: str, ids: list[str], closed: list[Any], kills: int,
                       posted: float, elapsed: float, agencies: list[str]) -> None:
    with db.engine.connect() as conn:
        rows = conn.execute(select(commands.c.id, commands.c.kind, commands.c.status, commands.c.target,
                                   commands.c.attempts, commands.c.decision_ref)).all()
    states = Counter(r.status for r in rows)
    failed = {r.target for r in rows if r.status == "failed"}
    r = redis.Redis.from_url(os.environ.get("THADS_REDIS_URL", "redis://127.0.0.1:6379/0"), decode_responses=True)
    letters: Any = r.xrange(f"{prefix}queue:{QUEUE}:dlq")
    r.close()
    lettered = {_fields(f["fields"])["command"] for _, f in letters}
    effects: Counter[tuple[Any, ...]] = Counter()
    repeats = 0
    writes = {"bank": ("PhongToaTaiKhoan", "freeze_applied", ("decision", "account_number")),
              "procuracy": ("GuiQuyetDinh", "decision_received", ("document_id",))}
    for agency in agencies:
        operation, kind, keys = writes[agency.split("-")[0]]
        snapshot = httpx.get(f"{sandbox_url}/{agency.replace('bank-', 'banks/')}/_admin/recorder", timeout=30).json()
        done = [e for e in snapshot["effects"] if e["kind"] == kind]
        effects.update((agency, *(e[k] for k in keys)) for e in done)
        asked = [x for x in snapshot["received"] if x["operation"] == operation and x["verdict"] == "ok"]
        repeats += len(asked) - len(done)
    attempts = Counter(r.attempts for r in rows)
    print(f"commands: {len(ids):,} ({len(ids) - len(set(ids))} ids repeated), ended {dict(states)}")
    print(f"kills -9: {kills}; posted in {posted:.0f} s; all ended after {elapsed:.0f} s")
    print(f"failed: {len(failed)}, all at the {len(closed)} closed accounts: "
          f"{failed == {a.account_number for a in closed}}; dead letters: {len(lettered)}, exactly the failed "
          f"commands: {lettered == {str(r.id) for r in rows if r.status == 'failed'}}")
    print(f"effects at the mocks: {len(effects):,} distinct acts, each once: {set(effects.values()) == {1}}; "
          f"acknowledged commands: {states['acknowledged']:,}")
    print(f"requests the agencies received again (their effect already done): {repeats}")
    print(f"deliveries per command: {dict(sorted(attempts.items()))}")


def machine() -> str:
    return (f"machine: nproc={os.cpu_count()}, {platform.processor() or platform.machine()}, "
            f"python {platform.python_version()}; load average {os.getloadavg()[0]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--part", choices=["all", "throughput", "memory", "resilience"], default="all")
    ap.add_argument("--commands", type=int, default=4000, help="(a) commands moved by the worker")
    ap.add_argument("--queued", type=int, default=10_000, help="(b) commands queued while the RSS is sampled")
    ap.add_argument("--resilience-commands", type=int, default=1000, help="(c) commands, two per freeze request")
    ap.add_argument("--outage-s", type=float, default=60.0, help="(c) how long one bank is down")
    ap.add_argument("--kill-every-s", type=float, default=5.0, help="(c) seconds between two kills -9")
    args = ap.parse_args()
    print(f"bench_outbox: {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}")
    print(machine())
    parts: dict[str, Callable[[], None]] = {
        "throughput": lambda: throughput(args.commands),
        "memory": lambda: memory(args.queued),
        "resilience": lambda: resilience(args.resilience_commands, args.outage_s, args.kill_every_s)}
    for name, part in parts.items():
        if args.part in ("all", name):
            part()


if __name__ == "__main__":
    main()
