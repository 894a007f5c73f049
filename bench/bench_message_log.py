"""Message-log appends per second from two processes, next to plain inserts, in the same run.

    .venv/bin/python bench/bench_message_log.py [--entries N] [--rounds R] [--pg URL]

Three ways of writing the same rows, each by two processes at once, on PostgreSQL (a throwaway schema)
and on SQLite (a temp file):
  plain      INSERT of the row with no chain (the floor: what the database costs anyway)
  chained    MessageLog.append, each process on its own partition (the hub's design)
  shared     MessageLog.append, both processes on ONE partition (what a single global chain would do)
It prints medians over the rounds and the ratios chained/plain and shared/chained.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, insert, text

from hub.audit.chain import GENESIS
from hub.audit.log import LogRecord, MessageLog
from hub.audit.subjects import SubjectIndex
from hub.store.database import Database
from hub.store.migrate import upgrade
from hub.store.tables import message_log
from hub.store.timestamps import utc_now

SECRET = b"b" * 32


def _record(i: int) -> LogRecord:
    return LogRecord(direction="outbound", kind="request", agency="population", operation="FindCitizen",
                     subject_person_id="087084000999", payload=b'{"SoDinhDanh": "087084000999", "i": %d}' % i,
                     latency_ms=3)


def _plain(url: str, partition: int, n: int, go: object) -> None:
    db = Database(url)
    log = MessageLog(db, SubjectIndex(SECRET), partition=partition)
    go.wait()  # type: ignore[attr-defined]
    for i in range(n):
        row = log._row(_record(i), utc_now())
        row.update(partition=partition + 100, seq=i + 1, prev_hash=GENESIS, entry_hash=GENESIS)
        with db.begin() as conn:
            conn.execute(insert(message_log).values(**row))
    db.dispose()


def _chained(url: str, partition: int, n: int, go: object) -> None:
    db = Database(url)
    log = MessageLog(db, SubjectIndex(SECRET), partitions=16, partition=partition)
    go.wait()  # type: ignore[attr-defined]
    for i in range(n):
        log.append(_record(i))
    db.dispose()


def _run(target: object, url: str, partitions: tuple[int, int], n: int) -> float:
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    procs = [ctx.Process(target=target, args=(url, p, n, go)) for p in partitions]  # type: ignore[arg-type]
    for p in procs:
        p.start()
    time.sleep(1.5)  # let both processes import and connect before the clock starts
    start = time.perf_counter()
    go.set()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    return 2 * n / (time.perf_counter() - start)


def _fresh(kind: str, pg: str) -> tuple[str, object]:
    if kind == "sqlite":
        path = Path(tempfile.mkdtemp()) / "bench.db"
        url = f"sqlite:///{path}"
        upgrade(url)
        return url, lambda: None
    schema = f"thads_bench_{secrets.token_hex(4)}"
    admin = create_engine(pg)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{pg}{'&' if '?' in pg else '?'}options={quote(f'-csearch_path={schema}')}"
    upgrade(url)

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return url, drop


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=400, help="entries per process per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--pg", default=os.environ.get("THADS_TEST_DATABASE_URL",
                                                   "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = ap.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; 2 writer processes, "
          f"{args.entries} entries each, {args.rounds} rounds, medians")
    print(f"{'backend':<10} {'plain/s':>9} {'chained/s':>10} {'shared/s':>9} {'chained/plain':>14} "
          f"{'shared/chained':>15}")
    for kind in ("postgresql", "sqlite"):
        results: dict[str, list[float]] = {"plain": [], "chained": [], "shared": []}
        for _ in range(args.rounds):
            for name, target, parts in (("plain", _plain, (0, 1)), ("chained", _chained, (0, 1)),
                                        ("shared", _chained, (7, 7))):
                url, drop = _fresh(kind, args.pg)
                results[name].append(_run(target, url, parts, args.entries))
                drop()  # type: ignore[operator]
        med = {k: statistics.median(v) for k, v in results.items()}
        print(f"{kind:<10} {med['plain']:>9.0f} {med['chained']:>10.0f} {med['shared']:>9.0f} "
              f"{med['chained'] / med['plain']:>14.2f} {med['shared'] / med['chained']:>15.2f}")
    print("chained/plain: what the hash chain costs over the inserts the log needs anyway (1.0 = free).\n"
          "shared/chained: a single chain shared by both writers, relative to one partition per writer.")


if __name__ == "__main__":
    main()
