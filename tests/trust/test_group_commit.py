"""Group commit: concurrent exchanges share transactions, each still waits for its own durable entry, and
one bad exchange does not sink the others it shared a batch with."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from hub.audit.group_commit import GroupCommitter
from hub.audit.log import LogRecord, MessageLog
from hub.audit.subjects import SubjectIndex
from hub.audit.verify import verify_log
from hub.store.database import Database
from hub.store.tables import message_log
from tests.trust.conftest import Pki, header

SUBJECTS = SubjectIndex(b"g" * 32)


def _exchange(i: int) -> list[LogRecord]:
    h = header("hub", to_agency="land", message_id=f"gc-{i}")
    return [LogRecord(direction="outbound", kind="request", agency="land", operation="TraCuuThuaDat", header=h,
                      payload=f"<q n='{i}'/>".encode()),
            LogRecord(direction="outbound", kind="response", agency="land", operation="TraCuuThuaDat", header=h,
                      payload=f"<a n='{i}'/>".encode(), latency_ms=i)]


def _count(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(message_log)).scalar_one())


def test_concurrent_exchanges_share_commits_and_each_gets_its_own_positions(database: Database, pki: Pki) -> None:
    log = MessageLog(database, SUBJECTS, partitions=2, partition=1)

    async def scenario() -> tuple[GroupCommitter, list[list[tuple[int, int]]]]:
        committer = GroupCommitter(log, asyncio.get_running_loop())
        return committer, await asyncio.gather(*(committer.append(_exchange(i)) for i in range(60)))

    committer, positions = asyncio.run(scenario())
    assert _count(database) == 120
    # Exchanges that arrive while a commit is queued or in flight share one: far fewer transactions.
    assert 1 <= committer.commits < 60
    seqs = [seq for pair in positions for _, seq in pair]
    assert sorted(seqs) == list(range(1, 121))  # unique, gap-free positions handed back to their owners
    for pair in positions:
        assert pair[1][1] == pair[0][1] + 1  # an exchange's request and response stay adjacent
    report = verify_log(database, pki.trust())
    assert report.intact, report.findings


def test_a_bad_exchange_fails_alone(database: Database) -> None:
    log = MessageLog(database, SUBJECTS, partitions=2, partition=0)
    bad = _exchange(999)
    bad[0].agency = None  # type: ignore[assignment]  # violates NOT NULL: the database refuses the row

    async def scenario() -> list[object]:
        committer = GroupCommitter(log, asyncio.get_running_loop())
        return await asyncio.gather(committer.append(_exchange(1)), committer.append(bad),
                                    committer.append(_exchange(2)), return_exceptions=True)

    results = asyncio.run(scenario())
    assert isinstance(results[1], Exception)
    assert not isinstance(results[0], Exception) and not isinstance(results[2], Exception)
    assert _count(database) == 4
