"""The population database's refusals (loi.schema.json, token.loi.schema.json) -> the hub's typed errors.

The agency keeps the THADS registry code of each refusal in ``MaLoiChuan``; its own code is ``MaLoi``.
A 5xx is a failure (transient: an idempotent call may be retried); a 4xx is an answer.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from hub.errors import (
    AgencyError,
    AgencyInvalidResponse,
    AgencyNotFound,
    AgencyRejected,
    AgencyUnavailable,
)
from mappings.population.wire import Loi, TokenLoi

AGENCY = "population"

#: the agency's codes that name a business rule of their own (the rule the hub reports)
RULES: dict[str, str] = {
    "CHUA_DONG_Y": "vneid_consent",  # the citizen has not agreed to VNeID notifications
    "TRUNG_MA_THAM_CHIEU": "reference_reused",  # MaThamChieu already used for another citizen
    "TOKEN_KHONG_HOP_LE": "access_token",
    "THIEU_MUC_DICH": "purpose",
}


def read_error(raw: bytes) -> Loi | None:
    try:
        return Loi.model_validate_json(raw, strict=True)
    except ValidationError:
        return None


def is_token_refused(status: int, raw: bytes) -> bool:
    """A 401 about the access token (unknown or expired): fetch a new token and ask once more."""
    if status != 401:
        return False
    err = read_error(raw)
    return err is not None and err.MaLoiChuan == "AUTH_REQUIRED"


def error_from_answer(status: int, raw: bytes) -> AgencyError:
    """The typed error for a non-200 answer (its signature, when it matters, already checked)."""
    err = read_error(raw)
    if status >= 500:
        detail = err.MoTaLoi if err else f"HTTP {status}"
        return AgencyUnavailable(f"{AGENCY} failed: {detail}", rule=f"http_{status}",
                                 agency_code=err.MaLoi if err else None)
    if err is None:
        return AgencyInvalidResponse(f"{AGENCY}: HTTP {status} with a body that breaks loi.schema.json",
                                     rule="error_schema")
    extra: dict[str, Any] = {"agency_code": err.MaLoi, "registry_code": err.MaLoiChuan, "agency_time": err.ThoiGian,
             "http_status": status}
    rule = RULES.get(err.MaLoi) or err.QuyTac or err.MaLoi.lower()
    if status == 404 or err.MaLoiChuan == "NOT_FOUND":
        return AgencyNotFound(f"{AGENCY}: {err.MoTaLoi}", rule=rule, **extra)
    if 400 <= status < 500:
        return AgencyRejected(f"{AGENCY} refused: {err.MoTaLoi}", rule=rule, **extra)
    return AgencyInvalidResponse(f"{AGENCY}: unexpected HTTP {status}", rule="http_status", **extra)


def token_error(status: int, raw: bytes) -> AgencyError:
    """A failed token request (RFC 6749 §5.2 body, or a 5xx in the agency's error JSON)."""
    if status >= 500:
        return error_from_answer(status, raw)
    try:
        err = TokenLoi.model_validate_json(raw, strict=True)
    except ValidationError:
        return AgencyInvalidResponse(f"{AGENCY}: token endpoint answered HTTP {status} outside its contract",
                                     rule="token_error_schema")
    return AgencyRejected(f"{AGENCY} refused the client credentials: {err.error_description or err.error}",
                          rule=err.error, http_status=status)
