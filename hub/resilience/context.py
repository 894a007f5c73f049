"""What travels with every agency call: the deadline and the accountability of the look-up."""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True)
class CallContext:
    deadline: float  # time.monotonic() by which the caller needs the answer
    case_ref: str | None = None
    officer: str | None = None
    purpose: str | None = None
    subject_person_id: str | None = None  # logged only as HMAC + mask
    idempotency_key: str | None = None  # makes a non-idempotent operation safe to retry

    @classmethod
    def within(cls, seconds: float, **kw: str | None) -> CallContext:
        return cls(deadline=time.monotonic() + seconds, **kw)

    def remaining(self) -> float:
        return self.deadline - time.monotonic()
