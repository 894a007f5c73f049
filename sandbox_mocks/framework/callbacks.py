"""Events an agency pushes to a receiver (postal delivery events now; bank and procuracy events later).

Like a real webhook system: each event is POSTed with the agency's signature headers (computed per
attempt, so a timestamp in the signed material stays fresh across retries), retried with exponential
backoff and jitter on connection failures, timeouts, 408, 429 and 5xx, up to a bounded number of
attempts, and given up on at once on any other 4xx. The fault injector decides duplicates (an event sent
twice, same event id and body: receivers must be idempotent) and out-of-order delivery (a sequence
sent in a shuffled order: receivers must order by the event's own sequence or time). Every attempt is
recorded as an effect ``callback_attempt`` in the agency's recorder.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import httpx

from sandbox_mocks.framework.faults import FaultInjector
from sandbox_mocks.framework.recorder import Recorder

_RETRYABLE_STATUS = {408, 425, 429}


@dataclass(frozen=True)
class Callback:
    """One event to push: where, what (the exact bytes), and its id for the receiver's de-duplication."""

    url: str
    body: bytes
    event_id: str
    content_type: str = "application/json"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    backoff_s: float = 0.1
    backoff_factor: float = 2.0
    max_backoff_s: float = 5.0
    timeout_s: float = 5.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Wait before attempt ``attempt + 1``: exponential, capped, with jitter in [50%, 100%]."""
        base = min(self.max_backoff_s, self.backoff_s * self.backoff_factor ** (attempt - 1))
        return base * (0.5 + rng.random() / 2)


# (callback, attempt number from 1) -> the signature and metadata headers of that attempt
HeaderSigner = Callable[[Callback, int], Mapping[str, str]]


class CallbackSender:
    def __init__(self, *, faults: FaultInjector, recorder: Recorder, sign: HeaderSigner | None = None,
                 retry: RetryPolicy | None = None, transport: httpx.AsyncBaseTransport | None = None,
                 seed: int = 0) -> None:
        self.faults = faults
        self.recorder = recorder
        self.sign = sign
        self.retry = retry or RetryPolicy()
        self.transport = transport
        self.rng = random.Random(seed)  # jitter only: fault draws stay in the fault injector's generator
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # --- public --------------------------------------------------------------------------------
    def dispatch(self, callbacks: Sequence[Callback], spacing_s: float = 0.0) -> asyncio.Task[None]:
        """Send ``callbacks`` in the background (from inside the running loop), one every ``spacing_s``."""
        task = asyncio.get_running_loop().create_task(self.send_sequence(callbacks, spacing_s))
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:  # a bug, not a receiver failure: say so
            self.recorder.effect("callback_error", error=repr(task.exception()))

    async def send_sequence(self, callbacks: Sequence[Callback], spacing_s: float = 0.0) -> None:
        """A stream of events in their natural order, unless the faults ask for another order."""
        for index in self.delivery_order(len(callbacks)):
            if spacing_s > 0:
                await asyncio.sleep(spacing_s)
            await self.send(callbacks[index])

    def delivery_order(self, n: int) -> list[int]:
        """Natural order, or with ``out_of_order_callbacks`` a shuffled order that is never the natural one."""
        order = list(range(n))
        if not self.faults.config.out_of_order_callbacks or n < 2:
            return order
        self.faults.rng.shuffle(order)
        if order == sorted(order):
            order[-1], order[-2] = order[-2], order[-1]
        return order

    async def send(self, callback: Callback) -> bool:
        """Deliver one event (twice when the duplicate fault fires); True when every copy got through."""
        copies = self.faults.callback_copies()
        results = [await self._deliver(callback, copy) for copy in range(copies)]
        return all(results)

    async def drain(self) -> None:
        """Wait for every background sequence (tests; a clean shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- internals -----------------------------------------------------------------------------
    def _http(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop:
            # A client is bound to the loop that made it: a mock served again in another loop gets a new one.
            self._client = httpx.AsyncClient(transport=self.transport, timeout=self.retry.timeout_s,
                                             follow_redirects=False)
            self._client_loop = loop
        return self._client

    async def _deliver(self, callback: Callback, copy: int) -> bool:
        for attempt in range(1, self.retry.max_attempts + 1):
            headers = {"Content-Type": callback.content_type}
            if self.sign is not None:
                headers.update(self.sign(callback, attempt))
            status: int | None = None
            error: str | None = None
            try:
                response = await self._http().post(callback.url, content=callback.body, headers=headers)
                status = response.status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            if status is not None and 200 <= status < 300:
                outcome = "delivered"
            elif status is not None and status < 500 and status not in _RETRYABLE_STATUS:
                outcome = "refused"
            elif attempt == self.retry.max_attempts:
                outcome = "gave_up"
            else:
                outcome = "retry"
            self.recorder.effect("callback_attempt", url=callback.url, event_id=callback.event_id,
                                 attempt=attempt, copy=copy, status=status, error=error, outcome=outcome)
            if outcome == "delivered":
                return True
            if outcome != "retry":
                return False
            await asyncio.sleep(self.retry.delay(attempt, self.rng))
        return False  # pragma: no cover - the loop always returns on its last attempt
