"""Fault injection for a mock agency, settable at start-up (TOML) and at run time (admin endpoint).

Knobs, each checked by a test to do what it says:
- ``latency_ms`` / ``latency_sigma``: every answer leaves a log-normal time after its request arrived, median
  latency_ms (sigma 0 = fixed); log-normal because real service latencies have a long right tail. The mock's
  own work happens within that time, as a real agency's servers work on each request in parallel: in the
  one-process sandbox, four agencies answering the same verification would otherwise queue behind each
  other's CPU, and each would look slower the more of them a caller asks at once;
- ``error_rate``: that share of calls fails as the protocol fails (SOAP Fault Receiver, HTTP 500);
- ``timeout_rate`` / ``timeout_s``: that share of calls hangs for timeout_s and then answers 504;
- ``outage``: every call answers 503 at once;
- ``malformed_rate`` / ``unsigned_rate`` / ``bad_signature_rate``: the answer is truncated, sent
  without its signature, or sent with a corrupted signature;
- ``duplicate_callback_rate`` / ``out_of_order_callbacks``: pushed events are sent twice, or shuffled.
Draws come from a seeded random generator so a failing test can be replayed.
"""

from __future__ import annotations

import math
import random
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class FaultConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(0.0, ge=0, le=120_000)
    latency_sigma: float = Field(0.0, ge=0, le=3)
    error_rate: float = Field(0.0, ge=0, le=1)
    timeout_rate: float = Field(0.0, ge=0, le=1)
    timeout_s: float = Field(30.0, ge=0, le=600)
    outage: bool = False
    malformed_rate: float = Field(0.0, ge=0, le=1)
    unsigned_rate: float = Field(0.0, ge=0, le=1)
    bad_signature_rate: float = Field(0.0, ge=0, le=1)
    duplicate_callback_rate: float = Field(0.0, ge=0, le=1)
    out_of_order_callbacks: bool = False


class Verdict(StrEnum):
    PASS = "pass"
    ERROR = "error"
    TIMEOUT = "timeout"
    OUTAGE = "outage"


class AnswerMutation(StrEnum):
    NONE = "none"
    MALFORMED = "malformed"
    UNSIGNED = "unsigned"
    BAD_SIGNATURE = "bad_signature"


class FaultInjector:
    def __init__(self, config: FaultConfig | None = None, seed: int = 0) -> None:
        self.config = config or FaultConfig()
        self.rng = random.Random(seed)

    def update(self, changes: dict[str, Any]) -> FaultConfig:
        self.config = FaultConfig.model_validate({**self.config.model_dump(), **changes})
        return self.config

    def reset(self) -> None:
        self.config = FaultConfig()

    def latency_s(self) -> float:
        c = self.config
        if c.latency_ms <= 0:
            return 0.0
        factor = math.exp(self.rng.gauss(0.0, c.latency_sigma)) if c.latency_sigma > 0 else 1.0
        return c.latency_ms * factor / 1000.0

    def decide(self) -> tuple[Verdict, float]:
        """The fate of one call and the seconds after its arrival at which it is answered."""
        c = self.config
        if c.outage:
            return Verdict.OUTAGE, 0.0
        delay = self.latency_s()
        if c.timeout_rate and self.rng.random() < c.timeout_rate:
            return Verdict.TIMEOUT, delay + c.timeout_s
        if c.error_rate and self.rng.random() < c.error_rate:
            return Verdict.ERROR, delay
        return Verdict.PASS, delay

    def answer_mutation(self) -> AnswerMutation:
        c, r = self.config, self.rng.random()
        if r < c.malformed_rate:
            return AnswerMutation.MALFORMED
        r -= c.malformed_rate
        if r < c.unsigned_rate:
            return AnswerMutation.UNSIGNED
        r -= c.unsigned_rate
        if r < c.bad_signature_rate:
            return AnswerMutation.BAD_SIGNATURE
        return AnswerMutation.NONE

    def callback_copies(self) -> int:
        return 2 if self.config.duplicate_callback_rate and self.rng.random() < self.config.duplicate_callback_rate \
            else 1
