"""Which handler consumes which queue, and what else every worker process runs (its companions).

An in-core table of import strings rather than entry points: the handlers live in the hub itself (the
verification batches, the outbox), the table is read only by the worker process, and a string keeps
the worker command from importing connectors or API code it does not run. A handler outside the core
(a test, an operator's plug-in) is named on the command line instead: ``--handler module:factory``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import import_module
from typing import TYPE_CHECKING, Any

from hub.errors import HubError
from hub.worker.handler import QueueHandler
from hub.worker.streams import DEFAULT_CAPACITY

if TYPE_CHECKING:
    from hub.bootstrap import Services
    from hub.worker.runtime import Companion

# queue name -> "module:factory"; the factory takes the Services and returns a QueueHandler for that queue.
HANDLERS: dict[str, str] = {
    "commands": "hub.commands.handler:CommandHandler",
    "verification-batch": "hub.batches.handler:BatchItemHandler",
    "inbound.identity": "hub.inbound.identity:IdentityResolutionHandler",
    "inbound.webhooks": "hub.inbound.webhooks:WebhookHandler",
}

# name -> "module:factory"; every worker process runs one of each beside its handlers. The factory takes
# the Services and the worker's consumer name and returns a hub.worker.runtime.Companion.
COMPANIONS: dict[str, str] = {
    "outbox-relay": "hub.outbox.relay:companion",
    "inbound.reconcile": "hub.inbound.reconcile:ReconcilePoller",
}


def load_factory(spec: str) -> Callable[..., Any]:
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise HubError(f"handler {spec!r} is not of the form module:factory", code="REQUEST_INVALID",
                       rule="handler_spec")
    try:
        factory = getattr(import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise HubError(f"handler {spec!r} cannot be loaded: {exc}", code="REQUEST_INVALID",
                       rule="handler_spec") from exc
    if not callable(factory):
        raise HubError(f"handler {spec!r} is not callable", code="REQUEST_INVALID", rule="handler_spec")
    return factory


def declared_capacity(queue: str) -> int:
    """The capacity a registered queue's handler declares (the default for others), without building it:
    producers, the relay and a dead-letter replay all bound the queue where its handler says."""
    if queue not in HANDLERS:
        return DEFAULT_CAPACITY
    return int(getattr(load_factory(HANDLERS[queue]), "capacity", DEFAULT_CAPACITY))


def build_handlers(services: Services, queues: Sequence[str] = (), extra: Sequence[str] = (),
                   table: dict[str, str] | None = None) -> list[QueueHandler]:
    """The handlers of the registered queues plus ``extra`` specs, narrowed to ``queues`` when given."""
    table = HANDLERS if table is None else table
    specs = [table[q] for q in (queues or table) if q in table] + list(extra)
    handlers: list[QueueHandler] = []
    for spec in specs:
        handler = load_factory(spec)(services)
        if not isinstance(handler, QueueHandler):
            raise HubError(f"handler {spec!r} made a {type(handler).__name__}, not a QueueHandler",
                           code="REQUEST_INVALID", rule="handler_spec")
        if not queues or handler.queue in queues:
            handlers.append(handler)
    missing = sorted(set(queues) - {h.queue for h in handlers})
    if missing or not handlers:
        raise HubError(f"no handler for queue(s) {', '.join(missing) or '(any)'}; registered: "
                       f"{', '.join(sorted(table)) or 'none'}", code="REQUEST_INVALID", rule="handler_unknown")
    seen: set[str] = set()
    for h in handlers:
        if h.queue in seen:
            raise HubError(f"two handlers for queue {h.queue!r}", code="REQUEST_INVALID", rule="handler_duplicate")
        seen.add(h.queue)
    return handlers


def build_companions(services: Services, consumer: str, table: dict[str, str] | None = None) -> list[Companion]:
    return [load_factory(spec)(services, consumer) for spec in (COMPANIONS if table is None else table).values()]
