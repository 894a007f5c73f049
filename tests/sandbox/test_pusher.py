"""The pusher offers the chosen rate and repeats the chosen share, byte-identical."""

from __future__ import annotations

import asyncio
import time

from sandbox_mocks.framework.pusher import Ack, PushItem, push


def test_rate_and_repeats() -> None:
    seen: list[tuple[str, bytes, float]] = []

    async def receiver(item: PushItem) -> Ack:
        seen.append((item.item_id, item.body, time.perf_counter()))
        duplicate = sum(1 for i, _, _ in seen if i == item.item_id) > 1
        return Ack(status=409 if duplicate else 200, acknowledged=not duplicate, code="REPLAY" if duplicate else None)

    items = [PushItem(f"m-{i}", f"<doc n='{i}'/>".encode(), "application/xml") for i in range(60)]
    report = asyncio.run(push(items, receiver, rate_per_s=40, repeat_share=0.25, seed=3))
    s = report.summary()
    assert s["originals"] == 60 and s["sent"] == 60 + s["repeats"]
    assert 8 <= s["repeats"] <= 25
    assert s["acknowledged"] == 60 and s["not_acknowledged"] == {"REPLAY": s["repeats"]}
    # repeats are byte-identical to their original
    bodies: dict[str, set[bytes]] = {}
    for item_id, body, _ in seen:
        bodies.setdefault(item_id, set()).add(body)
    assert all(len(b) == 1 for b in bodies.values())
    span = seen[-1][2] - seen[0][2]
    assert abs((s["sent"] - 1) / span - 40) / 40 < 0.15, span  # the offered rate holds within 15%


def test_a_dead_receiver_is_reported_not_raised() -> None:
    async def dead(item: PushItem) -> Ack:
        raise ConnectionRefusedError("nobody home")

    report = asyncio.run(push([PushItem("a", b"x", "text/plain")], dead, rate_per_s=10))
    assert report.summary()["not_acknowledged"] == {"ConnectionRefusedError": 1}
