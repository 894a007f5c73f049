"""Which failures are retried, how long a retry waits, and how handlers are found."""

from __future__ import annotations

import pytest

from hub.bootstrap import Services
from hub.errors import (
    AgencyNotFound,
    AgencyRejected,
    AgencyTimeout,
    AgencyUnavailable,
    CircuitOpen,
    DependencyUnavailable,
    HubError,
    InvalidValue,
)
from hub.settings import Settings
from hub.worker import Entry, QueueHandler, Reject, RetryLater
from hub.worker.handler import is_permanent, retry_delay_ms
from hub.worker.registry import HANDLERS, build_companions, build_handlers, declared_capacity, load_factory
from hub.worker.streams import DEFAULT_CAPACITY


@pytest.mark.parametrize(("exc", "permanent"), [
    (Reject("no"), True),
    (AgencyRejected("account closed"), True),
    (AgencyNotFound("no such parcel"), True),
    (InvalidValue("bad CCCD", code="ID_INVALID"), True),
    (RetryLater("later"), False),
    (AgencyUnavailable("503"), False),
    (AgencyTimeout("slow"), False),
    (CircuitOpen("open"), False),  # not transient for a caller with a deadline, but a worker can wait
    (DependencyUnavailable("database away"), False),
    (ConnectionResetError("reset"), False),
    (KeyError("bug"), False),  # max_attempts bounds it; the dead letter then shows it
])
def test_which_failures_are_permanent(exc: BaseException, permanent: bool) -> None:
    assert is_permanent(exc) is permanent


def test_retry_delay_doubles_with_jitter_up_to_the_cap() -> None:
    for attempt in range(1, 12):
        step = min(60.0, 2.0 * 2 ** (attempt - 1)) * 1000
        delays = {retry_delay_ms(f"1-{i}", attempt, 2.0, 60.0) for i in range(200)}
        assert all(step / 2 <= d <= step for d in delays)
        assert len(delays) > 150  # entries that failed together spread out
    # the same entry and attempt: the same due time, whichever worker computes it
    assert retry_delay_ms("7-0", 3, 2.0, 60.0) == retry_delay_ms("7-0", 3, 2.0, 60.0)
    assert retry_delay_ms("7-0", 10_000, 2.0, 60.0) <= 60_000


class Alpha(QueueHandler):
    queue = "alpha"

    async def handle(self, entry: Entry) -> None: ...


class Beta(QueueHandler):
    queue = "beta"

    async def handle(self, entry: Entry) -> None: ...


def not_a_handler(services: Services) -> object:
    return object()


TABLE = {"alpha": f"{__name__}:Alpha"}


def _names(settings: Settings, queues: tuple[str, ...] = (), extra: tuple[str, ...] = ()) -> list[str]:
    services = Services(settings=settings, db=None, redis=None, redis_sync=None)  # type: ignore[arg-type]
    return [h.queue for h in build_handlers(services, queues, extra, table=TABLE)]


def test_handlers_come_from_the_table_and_the_command_line(settings: Settings) -> None:
    assert _names(settings) == ["alpha"]
    assert _names(settings, extra=(f"{__name__}:Beta",)) == ["alpha", "beta"]
    assert _names(settings, ("beta",), (f"{__name__}:Beta",)) == ["beta"]


@pytest.mark.parametrize(("queues", "extra", "rule"), [
    (("gamma",), (), "handler_unknown"),
    ((), ("no_colon",), "handler_spec"),
    ((), ("tests.worker.nowhere:Thing",), "handler_spec"),
    ((), (f"{__name__}:not_a_handler",), "handler_spec"),
    ((), (f"{__name__}:Alpha",), "handler_duplicate"),
])
def test_bad_handler_choices_are_refused_by_rule(settings: Settings, queues: tuple[str, ...],
                                                 extra: tuple[str, ...], rule: str) -> None:
    with pytest.raises(HubError) as refused:
        _names(settings, queues, extra)
    assert refused.value.rule == rule


class Relay:
    def __init__(self, services: Services, consumer: str) -> None:
        self.consumer = consumer

    async def run(self, stopping: object) -> None: ...


def test_companions_are_made_with_the_consumer_name(settings: Settings) -> None:
    services = Services(settings=settings, db=None, redis=None, redis_sync=None)  # type: ignore[arg-type]
    (relay,) = build_companions(services, "host-1-42", table={"relay": f"{__name__}:Relay"})
    assert isinstance(relay, Relay) and relay.consumer == "host-1-42"


def test_every_registered_handler_loads_under_its_queue_name() -> None:
    for queue, spec in HANDLERS.items():
        factory = load_factory(spec)
        assert isinstance(factory, type) and issubclass(factory, QueueHandler), spec
        assert factory.queue == queue, f"{spec} consumes {factory.queue!r}, registered as {queue!r}"
        assert declared_capacity(queue) == factory.capacity
    assert declared_capacity("not-registered") == DEFAULT_CAPACITY
