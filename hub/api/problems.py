"""RFC 9457 problem+json: the one place where errors become HTTP responses.

Only typed errors become 4xx. An unexpected exception is a bug and answers 500 INTERNAL with an id
that finds its traceback in the log; it is never dressed up as a client error.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from adapters.refusal import Refusal
from hub.errors import REGISTRY, problem_type_uri
from hub.logs import new_log_id

log = logging.getLogger("thads.api")

PROBLEM_MEDIA_TYPE = "application/problem+json"
_STATUS_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "BODY_TOO_LARGE",
                 415: "UNSUPPORTED_MEDIA_TYPE", 401: "AUTH_REQUIRED", 409: "CONFLICT"}


class Problem(BaseModel):
    """RFC 9457 problem details. ``code`` repeats the registry code that ``type`` ends with."""

    type: str = Field(examples=["urn:thads:problem:ID_INVALID"])
    title: str
    status: int
    detail: str
    instance: str | None = None
    code: str
    rule: str | None = Field(None, description="The precise rule that failed, when there is one.")


def problem_response(code: str, detail: str, *, instance: str | None = None, rule: str | None = None,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    p = REGISTRY[code]
    body: dict[str, Any] = {"type": problem_type_uri(code), "title": p.title, "status": p.status,
                            "detail": detail, "code": code}
    if instance:
        body["instance"] = instance
    if rule:
        body["rule"] = rule
    body.update(extra)
    if p.status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="thads-hub"', **(headers or {})}
    return JSONResponse(body, status_code=p.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _refusal(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refusal)
    if exc.code not in REGISTRY:  # an adapter named a code nobody registered: that is a bug
        return _unexpected(request, exc)
    return problem_response(exc.code, exc.detail, instance=request.url.path, rule=exc.rule, **exc.extra)


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    # A domain rule raised inside a validator keeps its own code (ID_INVALID, PURPOSE_MISSING...).
    for err in errors:
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, Refusal) and cause.code in REGISTRY:
            return problem_response(cause.code, cause.detail, instance=request.url.path, rule=cause.rule,
                                    location=[str(p) for p in err["loc"]], **cause.extra)
    # Never echo the input back: it may hold a citizen ID, and problems end up in logs.
    summary = [{"location": [str(p) for p in e["loc"]], "message": e["msg"], "type": e["type"]}
               for e in errors]
    detail = "invalid request"
    if errors:
        where = ".".join(str(p) for p in errors[0]["loc"])
        detail = f"{where}: {errors[0]['msg']}" if where else str(errors[0]["msg"])
    return problem_response("REQUEST_INVALID", detail, instance=request.url.path, errors=summary)


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "REQUEST_INVALID" if exc.status_code < 500 else "INTERNAL")
    detail = exc.detail if isinstance(exc.detail, str) else REGISTRY[code].description
    return problem_response(code, detail, instance=request.url.path, headers=dict(exc.headers or {}))


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    error_id = new_log_id()  # quoted by the caller, searched for in the log: the masking must leave it whole
    log.error("unhandled error %s on %s %s", error_id, request.method, request.url.path, exc_info=exc)
    return problem_response("INTERNAL", f"internal error; quote error id {error_id}",
                            instance=request.url.path, error_id=error_id)


def install(app: FastAPI) -> None:
    app.add_exception_handler(Refusal, _refusal)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)


def problem_responses(*codes: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for routes: each status documented with the problem codes it can carry."""
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(REGISTRY[code].status, []).append(code)
    return {status: {"model": Problem, "description": "Problem: " + ", ".join(cs),
                     "content": {PROBLEM_MEDIA_TYPE: {}}} for status, cs in by_status.items()}
