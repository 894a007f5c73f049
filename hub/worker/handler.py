"""What a queue handler is, and how its failures are told apart: retry later, or dead-letter now."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from hashlib import blake2b
from typing import TYPE_CHECKING

from hub.errors import AgencyError, CircuitOpen, DependencyUnavailable, HubError
from hub.worker.streams import DEFAULT_CAPACITY, Entry

if TYPE_CHECKING:
    from hub.bootstrap import Services


class RetryLater(Exception):
    """A transient failure: the entry stays pending and is delivered again after its backoff."""


class Reject(Exception):
    """A permanent failure: asking again would get the same answer, so the entry is dead-lettered now."""


def is_permanent(exc: BaseException) -> bool:
    """The default split. Agencies' own answers (rejected, not found, invalid) and refused input are
    permanent; an agency that is down, a breaker that is open, a database that is away are not.
    Anything else (a bug, a dropped connection) is retried: max_attempts still bounds it."""
    if isinstance(exc, Reject):
        return True
    if isinstance(exc, RetryLater | CircuitOpen | DependencyUnavailable):
        return False
    if isinstance(exc, AgencyError):
        return not exc.transient
    return isinstance(exc, HubError)


def retry_delay_ms(entry_id: str, failed_attempts: int, base_s: float, max_s: float) -> int:
    """Exponential backoff with jitter between half and all of the step.

    The jitter is drawn from the entry id and attempt number rather than a random number generator:
    any worker scanning the pending list computes the same due time for an entry, so rescanning does
    not roll the dice again (which would pull every retry towards the lower bound), and entries that
    failed together still spread out.
    """
    step = min(max_s, base_s * 2 ** min(max(failed_attempts - 1, 0), 30))
    digest = blake2b(f"{entry_id}/{failed_attempts}".encode(), digest_size=8).digest()
    return int(step * (0.5 + 0.5 * int.from_bytes(digest) / 2**64) * 1000)


class QueueHandler(ABC):
    """One kind of work: the queue it consumes and how. Subclasses set ``queue`` and implement ``handle``;
    a subclass is itself a handler factory (it is called with the worker's Services).

    ``handle`` must be idempotent by a key carried in the entry: the runtime delivers at least once.
    It returns once the effect is recorded; only then is the entry acknowledged.
    """

    queue: str
    max_attempts: int = 5  # deliveries, crashes of the worker included, before the entry is dead-lettered
    concurrency: int = 8  # entries in flight at once in one worker process
    capacity: int = DEFAULT_CAPACITY  # open entries the queue may hold before producers get QUEUE_FULL
    retry_base_s: float = 2.0
    retry_max_s: float = 300.0
    needs_connectors: bool = False  # the worker builds and starts the agency connectors only if one says so

    def __init__(self, services: Services) -> None:
        self.services = services

    @abstractmethod
    async def handle(self, entry: Entry) -> None: ...

    async def dead_lettered_unhandled(self, entry: Entry, reason: str) -> None:
        """The runtime is dead-lettering ``entry`` without calling ``handle``: every earlier delivery ended
        without an outcome (its worker died or lost it each time). A handler that keeps its own state per
        entry records the end here, idempotently (it may be called again for the same entry)."""
        return None  # the default handler keeps no state of its own

    def retry_after_ms(self, entry_id: str, deliveries: int) -> int:
        return retry_delay_ms(entry_id, deliveries, self.retry_base_s, self.retry_max_s)


HandlerFactory = Callable[["Services"], QueueHandler]
