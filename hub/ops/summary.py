"""The operations page's figures, computed from the /metrics exposition itself (plus recent failures from
the message log), so the page and a Prometheus scrape can never disagree."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from hub.ops.metrics import samples

BREAKER_NAMES = {0: "closed", 1: "half_open", 2: "open"}


def summarise(exposition: bytes) -> dict[str, Any]:
    agencies: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    queues: dict[str, dict[str, float]] = defaultdict(dict)
    verifications: dict[str, float] = {}
    workers = 0.0
    for name, labels, value in samples(exposition):
        agency = labels.get("agency")
        if name == "thads_agency_requests_total" and agency:
            agencies[agency]["requests"] += value
            if labels.get("direction") == "inbound":
                agencies[agency]["inbound"] += value
        elif name == "thads_agency_errors_total" and agency:
            agencies[agency]["errors"] += value
        elif name == "thads_agency_retries_total" and agency:
            agencies[agency]["retries"] += value
        elif name == "thads_agency_latency_seconds_sum" and agency:
            agencies[agency]["latency_sum"] += value
        elif name == "thads_agency_latency_seconds_count" and agency:
            agencies[agency]["latency_count"] += value
        elif name == "thads_breaker_state" and agency:
            agencies[agency]["breaker"] = value
        elif name in ("thads_queue_backlog", "thads_queue_pending", "thads_dead_letters", "thads_outbox_staged"):
            queues[labels["queue"]][name.removeprefix("thads_")] = value
        elif name == "thads_verifications_total":
            verifications[labels["completeness"]] = value
        elif name == "thads_workers_live":
            workers = value
    rows = []
    for agency in sorted(agencies):
        a = agencies[agency]
        count = a.get("latency_count", 0.0)
        rows.append({
            "agency": agency, "requests": int(a.get("requests", 0)), "inbound": int(a.get("inbound", 0)),
            "errors": int(a.get("errors", 0)), "retries": int(a.get("retries", 0)),
            "mean_latency_ms": round(a.get("latency_sum", 0.0) / count * 1000, 1) if count else None,
            "breaker": BREAKER_NAMES.get(int(a.get("breaker", 0)), "closed"),
            "healthy": int(a.get("breaker", 0)) == 0})
    return {"agencies": rows,
            "queues": [{"queue": q, **{k: int(v) for k, v in sorted(f.items())}} for q, f in sorted(queues.items())],
            "verifications": {k: int(v) for k, v in sorted(verifications.items())}, "workers": int(workers)}
