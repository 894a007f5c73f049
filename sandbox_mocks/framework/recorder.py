"""What a mock received and what side effects it applied, kept in memory for tests and testers.

Bounded so a long soak run cannot exhaust memory; read through the agency's /_admin endpoints.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import deque
from contextvars import ContextVar
from typing import Any

# When the call reached the agency, before injected latency and its own work: the time an agency's rate
# counting (a quota) would use. Set by the fault middleware on every operation call.
ARRIVED: ContextVar[dt.datetime | None] = ContextVar("arrived", default=None)


class Recorder:
    def __init__(self, limit: int = 10_000) -> None:
        self._received: deque[dict[str, Any]] = deque(maxlen=limit)
        self._effects: deque[dict[str, Any]] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def received(self, operation: str, body: bytes, *, verdict: str, message_id: str | None = None,
                 signer: str | None = None, detail: str | None = None) -> None:
        now = dt.datetime.now(dt.UTC)
        with self._lock:
            self._received.append({
                "at": now.isoformat(), "arrived_at": (ARRIVED.get() or now).isoformat(),
                "operation": operation, "verdict": verdict,
                "message_id": message_id, "signer": signer, "detail": detail, "size": len(body),
                "sha256": hashlib.sha256(body).hexdigest()})

    def effect(self, kind: str, **fields: Any) -> None:
        with self._lock:
            self._effects.append({"at": dt.datetime.now(dt.UTC).isoformat(), "kind": kind, **fields})

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            return {"received": list(self._received), "effects": list(self._effects)}

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
            self._effects.clear()
