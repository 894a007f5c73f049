"""Reading a re-verification upload: JSON lines or CSV, one subject per line, validated line by line.

Every line must make a valid verification request on its own (a citizen ID, or a name to resolve it
from, and the enforcement case it is for); the batch's officer, purpose and scopes apply to all. One bad
line refuses the whole upload with the line numbers of every bad line (up to a bound), so nothing is
half-accepted and the officer fixes the file once.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from hub.errors import HubError
from hub.model.verification import VerificationRequest, VerificationScope

MAX_SUBJECTS = 100_000
MAX_REPORTED_ERRORS = 50
CSV_COLUMNS = ("person_id", "case_ref", "full_name", "birth_date", "birth_year", "province_code")
_HINT_FIELDS = ("full_name", "birth_date", "birth_year", "province_code")


@dataclass(frozen=True)
class BatchParams:
    officer: str
    purpose: str
    scopes: list[VerificationScope]
    deadline_ms: int = 60_000  # generous: a batch waits for the agencies' quota, a person at a counter does not


def _line_request(raw: Any, params: BatchParams) -> VerificationRequest:
    if not isinstance(raw, dict):
        raise HubError("a line must be a JSON object", code="REQUEST_INVALID", rule="line_object")
    hints = raw.get("hints")
    if hints is None and any(raw.get(f) not in (None, "") for f in _HINT_FIELDS):
        hints = {f: raw[f] for f in _HINT_FIELDS if raw.get(f) not in (None, "")}
    unknown = set(raw) - {"person_id", "case_ref", "hints", *_HINT_FIELDS}
    if unknown:
        raise HubError(f"unknown field(s): {', '.join(sorted(unknown))}", code="REQUEST_INVALID", rule="line_fields")
    return VerificationRequest.model_validate({
        "person_id": raw.get("person_id") or None, "hints": hints, "case_ref": raw.get("case_ref"),
        "officer": params.officer, "purpose": params.purpose, "scopes": params.scopes,
        "deadline_ms": params.deadline_ms})


def _error(line: int, exc: Exception) -> dict[str, Any]:
    if isinstance(exc, ValidationError):
        cause = next((e["ctx"]["error"] for e in exc.errors()
                      if isinstance((e.get("ctx") or {}).get("error"), HubError)), None)
        if isinstance(cause, HubError):
            return {"line": line, "code": cause.code, "detail": cause.detail}
        first = exc.errors()[0]
        return {"line": line, "code": "REQUEST_INVALID",
                "detail": f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"}
    if isinstance(exc, HubError):
        return {"line": line, "code": exc.code, "detail": exc.detail}
    return {"line": line, "code": "REQUEST_INVALID", "detail": str(exc)}


def _rows(body: bytes, fmt: str) -> list[tuple[int, Any]]:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise HubError("the upload is not UTF-8", code="REQUEST_INVALID", rule="encoding") from None
    if fmt == "csv":
        try:
            reader = csv.DictReader(io.StringIO(text, newline=""))
            missing = {"person_id", "case_ref"} - set(reader.fieldnames or ())
            if missing:
                raise HubError(f"the CSV header must name {', '.join(sorted(missing))} (columns: "
                               f"{', '.join(CSV_COLUMNS)})", code="REQUEST_INVALID", rule="csv_header")
            return [(reader.line_num, {k: (v or "").strip() if isinstance(v, str) else v
                                       for k, v in row.items() if k is not None}) for row in reader]
        except csv.Error as exc:  # a NUL byte, a stray carriage return in an unquoted field...
            raise HubError(f"the CSV cannot be read: {exc}", code="REQUEST_INVALID", rule="csv_syntax") from None
    rows: list[tuple[int, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except ValueError:
            rows.append((number, ValueError("not a JSON object")))
    return rows


def parse_upload(body: bytes, fmt: str, params: BatchParams) -> list[VerificationRequest]:
    """The upload's subjects as verification requests, or a REQUEST_INVALID listing the bad lines."""
    rows = _rows(body, fmt)
    if not rows:
        raise HubError("the upload holds no subject", code="REQUEST_INVALID", rule="empty")
    if len(rows) > MAX_SUBJECTS:
        raise HubError(f"at most {MAX_SUBJECTS} subjects per batch; split the file", code="REQUEST_INVALID",
                       rule="batch_size")
    requests: list[VerificationRequest] = []
    errors: list[dict[str, Any]] = []
    for line, raw in rows:
        try:
            if isinstance(raw, Exception):
                raise raw
            requests.append(_line_request(raw, params))
        except (ValidationError, HubError, ValueError) as exc:
            errors.append(_error(line, exc))
    if errors:
        raise HubError(f"{len(errors)} line(s) of the upload are invalid; nothing was stored",
                       code="REQUEST_INVALID", rule="lines", errors=errors[:MAX_REPORTED_ERRORS])
    return requests
