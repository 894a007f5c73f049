"""Prometheus metrics: what every exchange, retry and verification adds up to, plus state read at scrape time.

Counters and histograms are fed where the facts are born: the exchange recorder (every call to or from
an agency passes through it, so requests, latency and errors by code come from one place), the agency
guard (retries) and the verification service (completeness). State that lives in Redis or SQL (breaker
state, queue depths, dead letters, the outbox backlog) is read when /metrics is scraped, so every
process reports the same figure for it.

Several processes (the API, the workers) each count their own calls. With ``PROMETHEUS_MULTIPROC_DIR``
set (scripts/up.sh and ``thads-hub demo`` set it under the data dir, ``serve --workers N`` when it is not
set), they share files there and the API's /metrics sums them; without it, /metrics shows the API process
alone.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

REQUESTS = Counter("thads_agency_requests", "Exchanges with agencies, by direction and outcome "
                   "(ok, refused, failed, timeout).", ["agency", "operation", "direction", "outcome"])
ERRORS = Counter("thads_agency_errors", "Exchanges that did not end ok, by error code.",
                 ["agency", "operation", "code"])
LATENCY = Histogram("thads_agency_latency_seconds", "Duration of exchanges with agencies (outbound: the call, "
                    "retries included; inbound: the hub's handling).", ["agency", "operation", "direction"],
                    buckets=(0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
RETRIES = Counter("thads_agency_retries", "Attempts beyond the first (only for calls safe to retry).", ["agency"])
VERIFICATIONS = Counter("thads_verifications", "Verification reports by completeness.", ["completeness"])

BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}


def observe_exchange(direction: str, agency: str, operation: str, outcome: str, code: str | None,
                     latency_s: float) -> None:
    REQUESTS.labels(agency, operation, direction, outcome).inc()
    LATENCY.labels(agency, operation, direction).observe(latency_s)
    if outcome != "ok":
        ERRORS.labels(agency, operation, code or outcome).inc()


class StateCollector(Collector):
    """Breaker states, queue depths, dead letters and the outbox backlog, as read at scrape time."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        state = self.state
        breaker = GaugeMetricFamily("thads_breaker_state", "Circuit breaker per agency: 0 closed, 1 half-open, "
                                    "2 open.", labels=["agency"])
        for agency, value in state["breakers"].items():
            breaker.add_metric([agency], BREAKER_VALUES[value])
        yield breaker
        for name, key, doc in (("thads_queue_backlog", "backlog", "Entries in a work queue's stream (waiting, in "
                                "flight or waiting for a retry)."),
                               ("thads_queue_pending", "pending", "Entries delivered to a worker and not yet "
                                "acknowledged."),
                               ("thads_dead_letters", "dead_letters", "Entries a worker gave up on."),
                               ("thads_outbox_staged", "outbox", "Work staged in SQL not yet on its stream.")):
            family = GaugeMetricFamily(name, doc, labels=["queue"])
            for queue, figures in state["queues"].items():
                family.add_metric([queue], figures[key])
            yield family
        workers = GaugeMetricFamily("thads_workers_live", "Worker processes whose heartbeat has not expired.")
        workers.add_metric([], state["workers"])
        yield workers


def render(state: dict[str, Any]) -> bytes:
    """The /metrics body: this process's (or all processes') counters plus ``state`` (hub.ops.state)."""
    counters = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counters = CollectorRegistry()
        MultiProcessCollector(counters)
    scraped = CollectorRegistry()
    scraped.register(StateCollector(state))
    return generate_latest(counters) + generate_latest(scraped)


def samples(text: bytes) -> Iterable[tuple[str, dict[str, str], float]]:
    """Parse exposition text back into (name, labels, value): the ops page reads the very figures
    /metrics shows, never a second bookkeeping of its own."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text.decode()):
        for s in family.samples:
            yield s.name, dict(s.labels), float(s.value)
