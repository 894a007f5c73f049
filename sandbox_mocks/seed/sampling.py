"""Weighted choice and random dates on an explicit ``random.Random``: never the global generator,
so that a world depends on its seed and nothing else."""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Generic, TypeVar

T = TypeVar("T")


class Weighted(Generic[T]):
    """A fixed weighted population; ``pick`` costs one ``random()`` and a bisection.

    ``random.choices`` would do, but rebuilding its cumulative weights on every call is the slow part
    of generating ten thousand people.
    """

    __slots__ = ("_cumulative", "_items", "_total")

    def __init__(self, pairs: Iterable[tuple[T, float]]) -> None:
        items: list[T] = []
        weights: list[float] = []
        for item, weight in pairs:
            if weight > 0:
                items.append(item)
                weights.append(weight)
        if not items:
            raise ValueError("a weighted population needs at least one positive weight")
        self._items: Sequence[T] = tuple(items)
        self._cumulative = tuple(itertools.accumulate(weights))
        self._total = self._cumulative[-1]

    def pick(self, rng: random.Random) -> T:
        index = bisect.bisect_right(self._cumulative, rng.random() * self._total)
        return self._items[min(index, len(self._items) - 1)]


def random_date(rng: random.Random, start: date, end: date) -> date:
    """A day in ``[start, end]``, uniformly."""
    return start + timedelta(days=rng.randint(0, (end - start).days))


def log_uniform(rng: random.Random, low: int, high: int, step: int = 1000) -> int:
    """An amount spread evenly over orders of magnitude, as claims are, rounded to ``step``."""
    value = round(low * (high / low) ** rng.random() / step) * step
    return max(low, min(high, value))
