"""How a failed SOAP attempt becomes a typed agency error: shared by every built-in SOAP connector.

The distinctions matter for retries and for the breaker: a transport failure or a Receiver fault is
transient (``AgencyUnavailable`` / ``AgencyTimeout``, retried when safe); a Sender fault is the agency
refusing our message (``AgencyRejected``, never retried); an answer whose signature or binding fails is
``AgencySignatureInvalid``; anything else that breaks the contract is ``AgencyInvalidResponse``.
"""

from __future__ import annotations

import asyncio

import httpx
import zeep.exceptions

from adapters import soap_envelope
from adapters.refusal import Refusal
from adapters.xml_hardened import parse_xml
from hub.audit.log import Outcome
from hub.errors import (
    AgencyError,
    AgencyInvalidResponse,
    AgencyRejected,
    AgencySignatureInvalid,
    AgencyTimeout,
    AgencyUnavailable,
    InvalidValue,
)

TRUST_CODES = frozenset({"SIGNATURE_INVALID", "CERT_UNTRUSTED", "CERT_EXPIRED", "CERT_WRONG_AGENCY",
                         "CERT_REVOKED", "MESSAGE_EXPIRED", "REPLAY"})
SOAP_FAULT = f"{{{soap_envelope.SOAP12}}}Fault"


def is_fault(data: bytes | None) -> bool:
    if not data:
        return False
    try:
        root = parse_xml(data)
    except Refusal:
        return False
    body = root.find(f"{{{soap_envelope.SOAP12}}}Body")
    return body is not None and len(body) == 1 and body[0].tag == SOAP_FAULT


def typed_soap_error(exc: BaseException, *, agency: str, where: str, status: int | None, request: bytes | None,
                     response: bytes | None) -> BaseException:
    """The typed agency error for a failed attempt (or ``exc`` itself when it is not the agency's)."""
    if isinstance(exc, AgencyError | asyncio.CancelledError):
        return exc
    if isinstance(exc, httpx.TimeoutException):
        return AgencyTimeout(f"{where}: no answer in time ({type(exc).__name__})", rule="http_timeout")
    if isinstance(exc, httpx.TransportError):
        return AgencyUnavailable(f"{where}: {type(exc).__name__}: {exc}", rule="http_transport")
    if isinstance(exc, Refusal) and status is not None:
        fault = status >= 400 and is_fault(response)
        if status == 504:
            return AgencyTimeout(f"{where}: the {agency} timed out ({exc.detail})", rule=exc.rule or "http_504")
        if status >= 500 or (fault and exc.code in ("AGENCY_UNAVAILABLE", "INTERNAL")):
            return AgencyUnavailable(f"{where}: {exc.detail}", rule=exc.rule or f"http_{status}")
        if fault:  # a Sender fault: the agency refused the message we sent
            return AgencyRejected(f"{where}: the {agency} refused the message: {exc.detail}", rule=exc.code,
                                  fault_rule=exc.rule)
        if status >= 400:
            return AgencyInvalidResponse(f"{where}: HTTP {status} without a SOAP fault", rule=f"http_{status}")
        if exc.code in TRUST_CODES:
            return AgencySignatureInvalid(f"{where}: {exc.detail}", code=exc.code, rule=exc.rule)
        if exc.code == "REQUEST_INVALID":  # addressed to someone else than the hub
            return AgencySignatureInvalid(f"{where}: {exc.detail}", rule=exc.rule or "addressee")
        return AgencyInvalidResponse(f"{where}: {exc.detail}", rule=exc.rule or exc.code.lower())
    if isinstance(exc, zeep.exceptions.Error):
        if request is None:  # zeep could not render the request: the caller's values break the contract
            return InvalidValue(f"{where}: the request breaks the contract: {exc}", code="REQUEST_INVALID",
                                rule=f"{agency}_request")
        return AgencyInvalidResponse(f"{where}: {type(exc).__name__}: {exc}", rule="soap_answer")
    return exc


def attempt_outcome(exc: BaseException) -> tuple[Outcome, str]:
    """How one attempt ended, for its response entry (the recorder's closing entry of a failed call says
    "refused" for every typed error; an attempt's entry tells a failure and a time-out apart)."""
    if isinstance(exc, asyncio.CancelledError):
        return "timeout", "AGENCY_TIMEOUT"
    if isinstance(exc, AgencyTimeout):
        return "timeout", exc.code
    if isinstance(exc, AgencyUnavailable):
        return "failed", exc.code
    if isinstance(exc, Refusal):
        return "refused", exc.code
    return "failed", type(exc).__name__
