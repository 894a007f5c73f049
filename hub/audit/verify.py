"""`thads-hub audit verify`: every partition's chain and every checkpoint, checked from the rows alone.

What each kind of tampering looks like here:
- a column edited (any column: each is hashed) -> the entry's recomputed hash differs;
- an entry deleted -> a gap in its partition's sequence, and the next entry's prev_hash is wrong;
- entries reordered (seq values swapped) -> both recomputed hashes differ;
- the tail truncated after a checkpoint -> the sealed head (partition, seq, hash) is missing or differs;
- a checkpoint edited or removed from the middle -> its hash, signature or the next one's link fails.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from sqlalchemy import Connection, select

from adapters.pki import fingerprint
from adapters.refusal import Refusal
from adapters.trust_store import TrustStore
from hub.audit.chain import GENESIS, checkpoint_payload, entry_hash
from hub.audit.log import verify_bytes
from hub.store.database import Database
from hub.store.tables import log_checkpoints, log_heads, message_log
from hub.store.timestamps import as_utc


@dataclass(frozen=True)
class Finding:
    where: str  # "partition 3 seq 17", "checkpoint 2", "head of partition 3"
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


@dataclass
class AuditReport:
    partitions: int = 0
    entries: int = 0
    checkpoints: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.findings


def verify_log(db: Database, trust: TrustStore) -> AuditReport:
    report = AuditReport()
    with db.engine.connect() as conn:
        last_seen: dict[int, tuple[int, str]] = {}
        for partition in _partitions(conn):
            report.partitions += 1
            last_seen[partition] = _verify_partition(conn, partition, report)
        for head in conn.execute(select(log_heads).order_by(log_heads.c.partition)):
            seen = last_seen.get(head.partition, (0, GENESIS))
            if (head.seq, head.entry_hash) != seen:
                report.findings.append(Finding(f"head of partition {head.partition}",
                                               f"says seq {head.seq}, the chain ends at seq {seen[0]}"))
        _verify_checkpoints(conn, trust, report)
    return report


def _partitions(conn: Connection) -> list[int]:
    found = {r[0] for r in conn.execute(select(message_log.c.partition).distinct())}
    found |= {r[0] for r in conn.execute(select(log_heads.c.partition))}
    return sorted(found)


def _verify_partition(conn: Connection, partition: int, report: AuditReport) -> tuple[int, str]:
    expected_seq, prev = 1, GENESIS
    rows = conn.execution_options(yield_per=2000).execute(
        select(message_log).where(message_log.c.partition == partition).order_by(message_log.c.seq))
    for row in rows:
        report.entries += 1
        r: dict[str, Any] = dict(row._mapping)
        where = f"partition {partition} seq {r['seq']}"
        if r["seq"] != expected_seq:
            missing = (f"seq {expected_seq}" if r["seq"] == expected_seq + 1
                       else f"seq {expected_seq}..{r['seq'] - 1}")
            report.findings.append(Finding(where, f"{missing} missing before it (deleted)"))
        if r["prev_hash"] != prev:
            report.findings.append(Finding(where, "prev_hash does not link to the entry before it"))
        if entry_hash(r["prev_hash"], r) != r["entry_hash"]:
            report.findings.append(Finding(where, "content does not match its hash (edited or reordered)"))
        expected_seq, prev = r["seq"] + 1, r["entry_hash"]
    return expected_seq - 1, prev


def _verify_checkpoints(conn: Connection, trust: TrustStore, report: AuditReport) -> None:
    prev, expected_id = GENESIS, 1
    for cp in conn.execute(select(log_checkpoints).order_by(log_checkpoints.c.id)):
        report.checkpoints += 1
        where = f"checkpoint {cp.id}"
        if cp.id != expected_id:
            report.findings.append(Finding(where, f"checkpoint {expected_id} is missing (deleted)"))
        if cp.prev_checkpoint_hash != prev:
            report.findings.append(Finding(where, "does not link to the checkpoint before it"))
        payload = checkpoint_payload(cp.id, as_utc(cp.created_at), cp.heads, cp.prev_checkpoint_hash)
        if hashlib.sha256(payload).hexdigest() != cp.checkpoint_hash:
            report.findings.append(Finding(where, "content does not match its hash (edited)"))
        _verify_checkpoint_signature(cp, payload, trust, report, where)
        for partition, sealed in sorted(cp.heads.items(), key=lambda kv: int(kv[0])):
            entry = conn.execute(select(message_log.c.entry_hash).where(
                message_log.c.partition == int(partition), message_log.c.seq == sealed["seq"])).first()
            if entry is None:
                report.findings.append(Finding(
                    where, f"sealed partition {partition} up to seq {sealed['seq']}, which is gone (truncated)"))
            elif entry.entry_hash != sealed["hash"]:
                report.findings.append(Finding(
                    where, f"sealed partition {partition} seq {sealed['seq']} with another hash (rewritten)"))
        prev, expected_id = cp.checkpoint_hash, cp.id + 1


def _verify_checkpoint_signature(cp: Any, payload: bytes, trust: TrustStore, report: AuditReport,
                                 where: str) -> None:
    cert = next((c for c in trust.certificates_for("hub") if fingerprint(c) == cp.signer_fingerprint), None)
    if cert is None:
        report.findings.append(Finding(where, "signed by a certificate the trust store does not pin for the hub"))
        return
    try:
        trust.check(cert, "hub", as_utc(cp.created_at))
        verify_bytes(cert, base64.b64decode(cp.signature), payload)
    except Refusal as exc:
        report.findings.append(Finding(where, f"signing certificate refused: {exc.code}"))
    except (InvalidSignature, ValueError):
        report.findings.append(Finding(where, "signature does not verify"))
