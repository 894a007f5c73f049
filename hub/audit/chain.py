"""How a log entry is hashed into its partition's chain.

entry_hash = SHA-256(prev_hash || "\\n" || canonical JSON of every other column). Canonical JSON sorts
keys, writes times as UTC ISO-8601 with microseconds, and is the same on SQLite and PostgreSQL, so an
entry verifies wherever it is read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

GENESIS = "0" * 64
HASHED_COLUMNS = ("partition", "seq", "recorded_at", "direction", "kind", "agency", "service", "operation",
                  "message_id", "correlation_id", "from_agency", "to_agency", "case_ref", "officer", "purpose",
                  "subject_hmac", "subject_masked", "payload_hash", "size_bytes", "outcome", "error_code",
                  "latency_ms", "body")


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:  # SQLite hands back naive UTC
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def canonical_entry(row: Mapping[str, Any]) -> bytes:
    return json.dumps({c: _plain(row[c]) for c in HASHED_COLUMNS}, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":")).encode()


def entry_hash(prev_hash: str, row: Mapping[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical_entry(row)).hexdigest()


def checkpoint_payload(checkpoint_id: int, created_at: dt.datetime, heads: Mapping[str, Any],
                       prev_checkpoint_hash: str) -> bytes:
    return json.dumps({"id": checkpoint_id, "created_at": _plain(created_at), "heads": heads,
                       "prev": prev_checkpoint_hash}, sort_keys=True, separators=(",", ":")).encode()
