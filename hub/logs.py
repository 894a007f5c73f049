"""Structured logs: one JSON object per line, from the API (uvicorn's own lines included) and the workers alike,
so an operator's log shipper needs no parser per process.

- Every line of an HTTP request carries its correlation id: the caller's ``X-Correlation-Id`` when it sent a
  usable one, else one made here; the response echoes it, so a case system can quote it when it reports a
  problem, and the operator finds every line of that request with one search.
- No full citizen ID ever reaches a log line: any run of 12 digits (căn cước) or 9 digits (old CMND) in any
  field, the message and a formatted traceback included, is masked as 087******999 / 07*****23. IDs travel
  in request bodies only, but a library's error message may still quote one; masking every such run costs
  a few account numbers their middle digits, which a log can do without.

``configure_logging`` is called by ``thads-hub serve`` and ``thads-hub worker``; ``uvicorn_log_config`` is what
``serve`` hands uvicorn so that uvicorn's loggers write through the same JSON handler.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import IO, Any

import structlog

from hub.model.person_id import mask_person_id

CORRELATION_HEADER = "X-Correlation-Id"
_HEADER_KEY = CORRELATION_HEADER.lower().encode("latin-1")
# What a caller may send as its own id: short, printable, nothing that could forge a second log field.
_USABLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
# Not \d: Python's \d also matches other scripts' digits, which no citizen ID is written in.
_ID_RUN = re.compile(r"(?<![0-9])(?:[0-9]{12}|[0-9]{9})(?![0-9])")
_UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def mask_ids(text: str) -> str:
    """``text`` with every 12- or 9-digit run masked as a citizen ID is."""
    return _ID_RUN.sub(lambda m: mask_person_id(m.group()), text)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_ids(value)
    if isinstance(value, dict):
        return {k: _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_masked(v) for v in value]
    return value


def mask_citizen_ids(logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: the last word before rendering, so nothing added earlier escapes it."""
    return {key: _masked(value) for key, value in event.items()}


_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
]


def configure_logging(level: str = "info", stream: IO[str] | None = None) -> None:
    """JSON lines on ``stream`` (stderr) for the standard library's loggers and structlog's alike."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info, mask_citizen_ids,
                    structlog.processors.JSONRenderer(ensure_ascii=False)])
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in _UVICORN:  # uvicorn's loggers keep no handler of their own: theirs would print plain text
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.PositionalArgumentsFormatter(),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(), wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True)


def uvicorn_log_config(level: str = "info", stream: IO[str] | None = None) -> dict[str, Any]:
    """Configure the JSON logs, and return the dictConfig uvicorn applies at start: its loggers at ``level``,
    without handlers, writing through the root's."""
    configure_logging(level, stream)
    return {"version": 1, "disable_existing_loggers": False,
            "loggers": {name: {"level": level.upper(), "handlers": [], "propagate": True} for name in _UVICORN}}


def correlation_id(scope: Scope) -> str:
    """The caller's ``X-Correlation-Id`` when usable, else a new one."""
    for key, value in scope.get("headers", ()):
        if key == _HEADER_KEY:
            given = value.decode("latin-1").strip()
            if _USABLE_ID.fullmatch(given):
                return given
            break
    return new_log_id()


def new_log_id() -> str:
    """A new 32-hex-digit id for the logs (a request's correlation id, an error's id) that the citizen-ID
    masking leaves whole. A random hex id holds a run of exactly 9 or 12 decimal digits about one time in
    eight; masked, the id in the log would no longer be the one the caller was given, and nobody could find
    the request's lines by it. Such an id is drawn again."""
    while True:
        made = uuid.uuid4().hex
        if _ID_RUN.search(made) is None:
            return made


class CorrelationIdMiddleware:
    """Binds the request's correlation id into every log line written while it is served (the app's, the
    threads it hands work to, uvicorn's access line) and echoes it in the response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cid = correlation_id(scope)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != _HEADER_KEY]
                message = {**message, "headers": [*headers, (_HEADER_KEY, cid.encode("latin-1"))]}
            await send(message)

        with structlog.contextvars.bound_contextvars(correlation_id=cid):
            await self.app(scope, receive, send_with_id)
