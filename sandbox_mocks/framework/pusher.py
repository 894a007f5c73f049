"""Playing an agency that calls the hub on its own: a court pushing judgments, a bank pushing freeze
confirmations, the procuracy pushing protests, at a chosen rate and with a chosen share of repeats.

Items are prepared bytes (already signed), so a repeat is byte-identical, the same MessageId included:
exactly what a sender that lost the acknowledgment would retransmit. The report says, per item, what
the receiver answered, so a tester sees how many were acknowledged, refused as duplicates or failed,
and the rate actually achieved.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PushItem:
    item_id: str  # the MessageId or the document's own number
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Ack:
    """What the receiver answered: HTTP status, whether it acknowledged, and its code if it refused."""

    status: int | None
    acknowledged: bool
    code: str | None = None
    detail: str | None = None


@dataclass
class PushOutcome:
    item_id: str
    repeat: bool
    sent_at: float
    latency_ms: float
    ack: Ack


@dataclass
class PushReport:
    planned_rate: float
    outcomes: list[PushOutcome] = field(default_factory=list)
    duration_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        codes: dict[str, int] = {}
        for o in self.outcomes:
            if not o.ack.acknowledged:
                key = o.ack.code or (f"HTTP {o.ack.status}" if o.ack.status else "no answer")
                codes[key] = codes.get(key, 0) + 1
        sent = len(self.outcomes)
        return {
            "sent": sent, "originals": sum(not o.repeat for o in self.outcomes),
            "repeats": sum(o.repeat for o in self.outcomes),
            "acknowledged": sum(o.ack.acknowledged for o in self.outcomes),
            "not_acknowledged": codes, "duration_s": round(self.duration_s, 3),
            "planned_rate_per_s": self.planned_rate,
            "achieved_rate_per_s": round(sent / self.duration_s, 2) if self.duration_s else 0.0,
        }


Send = Callable[[PushItem], Awaitable[Ack]]


def plan(items: Sequence[PushItem], repeat_share: float, rng: random.Random) -> list[tuple[PushItem, bool]]:
    """The order of sending: every item once, and a ``repeat_share`` of them again, a few places later."""
    order: list[tuple[PushItem, bool]] = [(item, False) for item in items]
    repeats = [item for item in items if rng.random() < repeat_share]
    for item in repeats:
        first = next(i for i, (it, _) in enumerate(order) if it is item)
        order.insert(min(len(order), first + 1 + rng.randint(0, 3)), (item, True))
    return order


async def push(items: Sequence[PushItem], send: Send, *, rate_per_s: float, repeat_share: float = 0.0,
               seed: int = 0, concurrency: int = 16) -> PushReport:
    """Send at ``rate_per_s`` (items start on a fixed schedule, not when the previous one ends, so a slow
    receiver does not lower the offered rate), with at most ``concurrency`` in flight."""
    if rate_per_s <= 0:
        raise ValueError("rate_per_s must be positive")
    schedule = plan(items, repeat_share, random.Random(seed))
    report = PushReport(planned_rate=rate_per_s)
    gate = asyncio.Semaphore(concurrency)
    start = time.perf_counter()

    async def one(index: int, item: PushItem, repeat: bool) -> None:
        await asyncio.sleep(max(0.0, start + index / rate_per_s - time.perf_counter()))
        async with gate:
            sent = time.perf_counter()
            try:
                ack = await send(item)
            except Exception as exc:  # a dead receiver is an outcome to report, not a crash
                ack = Ack(status=None, acknowledged=False, code=type(exc).__name__, detail=str(exc)[:200])
            report.outcomes.append(PushOutcome(item.item_id, repeat, sent - start,
                                               (time.perf_counter() - sent) * 1000, ack))

    await asyncio.gather(*(one(i, item, rep) for i, (item, rep) in enumerate(schedule)))
    report.duration_s = time.perf_counter() - start
    return report
