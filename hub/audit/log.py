"""Appending to the message log, and sealing it with signed checkpoints.

Design: the log is split into partitions, each its own hash chain with its own head row. An append
locks only its partition's head (SELECT ... FOR UPDATE on PostgreSQL), so writers in different
partitions never wait for each other; a process writes to the partition ``pid % partitions`` unless
told otherwise, so with as many partitions as writer processes the appends of a multi-process
deployment run in parallel. (One global chain would make every append of every process queue on one
row lock: the log would become the hub's throughput ceiling.) A checkpoint signs the heads of all
partitions at once with the hub's key, and checkpoints chain to each other, so deleting or rewriting
anything sealed is detectable by ``thads-hub audit verify``.
On SQLite the whole database has one writer at a time anyway; partitions cost nothing there.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from sqlalchemy import Connection, bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from adapters.envelope import EnvelopeFields
from adapters.pki import PrivateKey, fingerprint
from hub.audit.chain import GENESIS, checkpoint_payload, entry_hash
from hub.audit.subjects import SubjectIndex
from hub.store.database import Database
from hub.store.tables import log_checkpoints, log_heads, message_log
from hub.store.timestamps import utc_now

Direction = Literal["inbound", "outbound"]
Kind = Literal["request", "response", "event"]
Outcome = Literal["ok", "refused", "failed", "timeout", "not_found"]
BodyPolicy = Literal["full", "metadata"]
DEFAULT_PARTITIONS = 16


@dataclass
class LogRecord:
    """One side of one exchange, as a caller describes it; MessageLog turns it into a chained entry."""

    direction: Direction
    kind: Kind
    agency: str
    operation: str
    outcome: Outcome = "ok"
    service: str | None = None
    header: EnvelopeFields | None = None
    subject_person_id: str | None = None
    payload: bytes | None = None
    payload_hash: str | None = None
    error_code: str | None = None
    latency_ms: int | None = None


# Built once: constructing a SQLAlchemy statement costs several times executing it, and every exchange
# of the hub goes through these.
_LOCK_HEAD = (select(log_heads.c.seq, log_heads.c.entry_hash).where(log_heads.c.partition == bindparam("p"))
              .with_for_update())
_NEW_HEAD = {False: sqlite_insert(log_heads).on_conflict_do_nothing(),
             True: pg_insert(log_heads).on_conflict_do_nothing()}
_INSERT_ENTRIES = insert(message_log)
_MOVE_HEAD = (update(log_heads).where(log_heads.c.partition == bindparam("p"))
              .values(seq=bindparam("new_seq"), entry_hash=bindparam("new_hash")))


class MessageLog:
    def __init__(self, db: Database, subjects: SubjectIndex, *, partitions: int = DEFAULT_PARTITIONS,
                 partition: int | None = None, body_policy: Mapping[str, BodyPolicy] | None = None,
                 default_policy: BodyPolicy = "metadata") -> None:
        self.db = db
        self.subjects = subjects
        self.partitions = partitions
        self.partition = partition if partition is not None else os.getpid() % partitions
        self.body_policy = dict(body_policy or {})
        self.default_policy = default_policy

    def _row(self, rec: LogRecord, now: dt.datetime) -> dict[str, Any]:
        h = rec.header
        payload_hash = rec.payload_hash or (hashlib.sha256(rec.payload).hexdigest() if rec.payload is not None
                                            else None)
        keep_body = self.body_policy.get(rec.agency, self.default_policy) == "full" and rec.payload is not None
        return {
            "recorded_at": now, "direction": rec.direction, "kind": rec.kind, "agency": rec.agency,
            "service": rec.service or (h.service if h else None), "operation": rec.operation,
            "message_id": h.message_id if h else None, "correlation_id": h.correlation_id if h else None,
            "from_agency": h.from_agency if h else None, "to_agency": h.to_agency if h else None,
            "case_ref": h.case_ref if h else None, "officer": h.officer if h else None,
            "purpose": h.purpose if h else None,
            "subject_hmac": self.subjects.key(rec.subject_person_id) if rec.subject_person_id else None,
            "subject_masked": self.subjects.mask(rec.subject_person_id) if rec.subject_person_id else None,
            "payload_hash": payload_hash, "size_bytes": len(rec.payload) if rec.payload is not None else 0,
            "outcome": rec.outcome, "error_code": rec.error_code, "latency_ms": rec.latency_ms,
            "body": rec.payload.decode("utf-8", "replace") if keep_body and rec.payload is not None else None,
        }

    def append(self, rec: LogRecord) -> tuple[int, int]:
        """Chain one entry onto this writer's partition; returns (partition, seq)."""
        return self.append_many([rec])[0]

    def append_many(self, records: list[LogRecord]) -> list[tuple[int, int]]:
        """Several entries in one transaction (the request and responses of one exchange): the head is
        locked and read once, the entries are chained in memory and inserted together."""
        if not records:
            return []
        with self.db.begin() as conn:
            return self._append(conn, records)

    def append_in(self, conn: Connection, records: list[LogRecord]) -> list[tuple[int, int]]:
        """Chain entries inside the caller's transaction, so they commit (or not) with its other writes."""
        return self._append(conn, records) if records else []

    def _append(self, conn: Connection, records: list[LogRecord]) -> list[tuple[int, int]]:
        p = self.partition
        head = conn.execute(_LOCK_HEAD, {"p": p}).first()
        if head is None:  # the partition's first entry: create its head, then lock it like any other
            new_head = _NEW_HEAD[conn.dialect.name == "postgresql"]
            conn.execute(new_head, {"partition": p, "seq": 0, "entry_hash": GENESIS})
            head = conn.execute(_LOCK_HEAD, {"p": p}).one()
        seq, prev = head.seq, head.entry_hash
        rows = []
        for rec in records:
            row = self._row(rec, utc_now())
            seq += 1
            row.update(partition=p, seq=seq, prev_hash=prev)
            row["entry_hash"] = prev = entry_hash(prev, row)
            rows.append(row)
        conn.execute(_INSERT_ENTRIES, rows)
        conn.execute(_MOVE_HEAD, {"p": p, "new_seq": seq, "new_hash": prev})
        return [(p, r["seq"]) for r in rows]

    def checkpoint(self, key: PrivateKey, cert: x509.Certificate) -> int:
        """Seal the current head of every partition with the hub's signature."""
        with self.db.begin() as conn:
            heads = {str(r.partition): {"seq": r.seq, "hash": r.entry_hash}
                     for r in conn.execute(select(log_heads).order_by(log_heads.c.partition)) if r.seq > 0}
            last = conn.execute(select(log_checkpoints).order_by(log_checkpoints.c.id.desc()).limit(1)).first()
            cid = (last.id + 1) if last else 1
            prev = last.checkpoint_hash if last else GENESIS
            now = utc_now()
            payload = checkpoint_payload(cid, now, heads, prev)
            conn.execute(insert(log_checkpoints).values(
                id=cid, created_at=now, heads=heads, prev_checkpoint_hash=prev,
                checkpoint_hash=hashlib.sha256(payload).hexdigest(), signer_fingerprint=fingerprint(cert),
                signature=base64.b64encode(sign_bytes(key, payload)).decode()))
            return cid


def sign_bytes(key: PrivateKey, data: bytes) -> bytes:
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data, ec.ECDSA(hashes.SHA256()))


def verify_bytes(cert: x509.Certificate, signature: bytes, data: bytes) -> None:
    """Raises cryptography's InvalidSignature when the signature does not match."""
    public = cert.public_key()
    if isinstance(public, rsa.RSAPublicKey):
        public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    elif isinstance(public, ec.EllipticCurvePublicKey):
        public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
    else:
        raise TypeError("unsupported key type")
