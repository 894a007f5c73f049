"""A long-lived process's start-up heap, kept out of the garbage collector's full passes.

What a server builds at start (compiled XSDs, zeep's WSDL model, the sandbox's seeded world, FastAPI's
routes) is some 150,000 objects that live as long as the process. CPython's full collection walks all of
them each time: 30-45 ms on a quiet 2-core machine, 100 ms and more on a busy one, during which the event
loop answers nothing. For the sandbox that is a burst of requests stamped at once after the pause (an
agency counting its quota per second sees calls bunch up); for the hub, a latency spike on every request
in flight. ``gc.freeze()`` moves everything alive at that moment to a permanent generation that the
collector skips; what the process allocates afterwards is collected as usual.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def startup_heap_frozen() -> Iterator[None]:
    """Freeze what is alive now for the duration of the block (a server's life, between start and stop).
    Unfrozen at the end so that a process starting and stopping many servers (the tests) frees them."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
