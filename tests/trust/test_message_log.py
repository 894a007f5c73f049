"""The message log: hash chains per partition sealed by signed checkpoints, and `audit verify` naming
each kind of tampering."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update

from adapters.pki import load_cert, load_key
from hub.audit.log import LogRecord, MessageLog
from hub.audit.subjects import SubjectIndex
from hub.audit.verify import AuditReport, verify_log
from hub.store.database import Database
from hub.store.tables import log_checkpoints, log_heads, message_log
from tests.trust.conftest import Pki, header

PERSON = "087084000999"
SUBJECTS = SubjectIndex(b"s" * 32)


def _record(i: int, agency: str = "population") -> LogRecord:
    return LogRecord(direction="outbound", kind="request", agency=agency, operation="FindCitizen",
                     header=header("hub", to_agency=agency, message_id=f"m-{i}"), subject_person_id=PERSON,
                     payload=f'{{"SoDinhDanh": "{PERSON}", "n": {i}}}'.encode(), latency_ms=i)


def _fill(db: Database, pki: Pki, *, partitions: tuple[int, ...] = (0, 1, 2), per_partition: int = 5,
          checkpoint: bool = True) -> None:
    for p in partitions:
        log = MessageLog(db, SUBJECTS, partitions=4, partition=p)
        for i in range(per_partition):
            log.append(_record(i))
    if checkpoint:
        MessageLog(db, SUBJECTS).checkpoint(load_key(pki.key_dir / "hub.key"), load_cert(pki.key_dir / "hub.pem"))


def _verify(db: Database, pki: Pki) -> AuditReport:
    return verify_log(db, pki.trust())


def test_an_intact_log_verifies(database: Database, pki: Pki) -> None:
    _fill(database, pki)
    MessageLog(database, SUBJECTS, partitions=4, partition=1).append(_record(99))  # after the checkpoint
    report = _verify(database, pki)
    assert report.intact, report.findings
    assert (report.partitions, report.entries, report.checkpoints) == (3, 16, 1)


def test_full_citizen_ids_never_reach_the_log_text(database: Database, pki: Pki) -> None:
    _fill(database, pki, partitions=(0,), per_partition=1)
    with database.engine.connect() as conn:
        row = conn.execute(select(message_log)).one()._mapping
    assert row["subject_masked"] == "087******999"
    assert row["subject_hmac"] == SUBJECTS.key(PERSON)
    assert row["body"] is None  # metadata-only is the default policy
    assert all(PERSON not in str(v) for v in row.values())


def test_body_kept_only_where_the_agency_policy_says_full(database: Database) -> None:
    log = MessageLog(database, SUBJECTS, partition=0, body_policy={"court": "full"})
    log.append(_record(1, agency="court"))
    log.append(_record(2, agency="population"))
    with database.engine.connect() as conn:
        bodies = [r.body for r in conn.execute(select(message_log.c.body).order_by(message_log.c.seq))]
    assert bodies[0] is not None and bodies[1] is None


EDITS = {
    "recorded_at": dt.datetime(2020, 1, 1, tzinfo=dt.UTC), "direction": "inbound", "kind": "event",
    "agency": "land", "service": "x", "operation": "Other", "message_id": "m-forged", "correlation_id": "c",
    "from_agency": "court", "to_agency": "land", "case_ref": "OTHER-CASE", "officer": "Kẻ mạo danh",
    "purpose": "Tò mò", "subject_hmac": "0" * 64, "subject_masked": "001******000", "payload_hash": "f" * 64,
    "size_bytes": 1, "outcome": "failed", "error_code": "X", "latency_ms": 123456, "body": "{}",
    "prev_hash": "e" * 64, "entry_hash": "d" * 64,
}


@pytest.mark.parametrize("column", sorted(EDITS))
def test_editing_any_column_is_detected_and_named(database: Database, pki: Pki, column: str) -> None:
    _fill(database, pki)
    with database.begin() as conn:
        conn.execute(update(message_log).where(message_log.c.partition == 1, message_log.c.seq == 3)
                     .values({column: EDITS[column]}))
    report = _verify(database, pki)
    assert not report.intact
    assert any(f.where == "partition 1 seq 3" for f in report.findings), report.findings


def test_editing_the_key_columns_is_detected(database: Database, pki: Pki) -> None:
    _fill(database, pki)
    with database.begin() as conn:
        conn.execute(update(message_log).where(message_log.c.partition == 1, message_log.c.seq == 3)
                     .values(partition=3))
    report = _verify(database, pki)
    assert any(f.where == "partition 3 seq 3" for f in report.findings)
    assert any(f.where == "partition 1 seq 4" and "missing" in f.problem for f in report.findings)


def test_a_deleted_entry_is_detected_and_named(database: Database, pki: Pki) -> None:
    _fill(database, pki)
    with database.begin() as conn:
        conn.execute(delete(message_log).where(message_log.c.partition == 2, message_log.c.seq == 2))
    findings = _verify(database, pki).findings
    assert any(f.where == "partition 2 seq 3" and "seq 2 missing" in f.problem for f in findings), findings


def test_reordered_entries_are_detected_and_named(database: Database, pki: Pki) -> None:
    _fill(database, pki)
    with database.begin() as conn:
        c = message_log.c
        conn.execute(update(message_log).where(c.partition == 0, c.seq == 2).values(seq=-2))
        conn.execute(update(message_log).where(c.partition == 0, c.seq == 4).values(seq=2))
        conn.execute(update(message_log).where(c.partition == 0, c.seq == -2).values(seq=4))
    wheres = {f.where for f in _verify(database, pki).findings}
    assert {"partition 0 seq 2", "partition 0 seq 4"} <= wheres


def test_a_truncated_tail_after_a_checkpoint_is_detected_even_with_the_head_rewritten(
        database: Database, pki: Pki) -> None:
    _fill(database, pki)
    with database.begin() as conn:
        conn.execute(delete(message_log).where(message_log.c.partition == 0, message_log.c.seq >= 4))
        last = conn.execute(select(message_log.c.entry_hash).where(message_log.c.partition == 0,
                                                                    message_log.c.seq == 3)).scalar_one()
        conn.execute(update(log_heads).where(log_heads.c.partition == 0).values(seq=3, entry_hash=last))
    findings = _verify(database, pki).findings
    assert [str(f) for f in findings] == [
        "checkpoint 1: sealed partition 0 up to seq 5, which is gone (truncated)"]


def test_an_edited_or_deleted_checkpoint_is_detected(database: Database, pki: Pki) -> None:
    _fill(database, pki)
    _fill(database, pki, partitions=(3,), per_partition=2)  # checkpoint 2
    with database.begin() as conn:
        conn.execute(update(log_checkpoints).where(log_checkpoints.c.id == 2)
                     .values(heads={"0": {"seq": 1, "hash": "0" * 64}}))
    findings = _verify(database, pki).findings
    assert any(f.where == "checkpoint 2" and "edited" in f.problem for f in findings)
    with database.begin() as conn:
        conn.execute(delete(log_checkpoints).where(log_checkpoints.c.id == 1))
    findings = _verify(database, pki).findings
    assert any(f.where == "checkpoint 2" and "checkpoint 1 is missing" in f.problem for f in findings)


def _writer(url: str, secret: bytes, partition: int | None, count: int) -> None:
    db = Database(url)
    log = MessageLog(db, SubjectIndex(secret), partitions=16, partition=partition)
    for i in range(count):
        log.append(_record(i))
    db.dispose()


def test_several_processes_append_at_once_and_the_log_still_verifies(database: Database, pki: Pki) -> None:
    ctx = multiprocessing.get_context("spawn")
    # Two writers on their own partitions and two sharing one: contention must serialise, not corrupt.
    plan = [(1, 40), (2, 40), (5, 40), (5, 40)]
    procs = [ctx.Process(target=_writer, args=(database.url, SUBJECTS.secret, p, n)) for p, n in plan]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    MessageLog(database, SUBJECTS).checkpoint(load_key(pki.key_dir / "hub.key"), load_cert(pki.key_dir / "hub.pem"))
    report = _verify(database, pki)
    assert report.intact, report.findings
    assert report.entries == 160 and report.partitions == 3
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT max(seq) FROM message_log WHERE partition = 5")).scalar_one() == 80


def test_subject_secret_is_created_once_and_private(tmp_path: Path) -> None:
    first = SubjectIndex.from_key_dir(tmp_path)
    assert SubjectIndex.from_key_dir(tmp_path).secret == first.secret
    assert (tmp_path / "subject-index.secret").stat().st_mode & 0o777 == 0o600
    assert first.key(PERSON) != SubjectIndex(b"x" * 32).key(PERSON)
