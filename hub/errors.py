"""The one registry of error codes, and the typed errors that carry them.

Every refusal the hub makes, whatever the edge (REST problem+json, SOAP Fault, CLI exit), names one
code from ``REGISTRY``. The code is the stable contract with callers: the problem ``type`` is
``urn:thads:problem:<CODE>`` and the SOAP fault subcode is the same string. Titles and statuses live
here, once, so an edge never invents its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from adapters.refusal import Refusal

PROBLEM_TYPE_PREFIX = "urn:thads:problem:"


@dataclass(frozen=True, slots=True)
class ProblemType:
    code: str
    status: int
    title: str
    description: str


def _registry(*entries: ProblemType) -> dict[str, ProblemType]:
    out: dict[str, ProblemType] = {}
    for entry in entries:
        if entry.code in out:  # pragma: no cover - guards the table below
            raise RuntimeError(f"duplicate error code {entry.code}")
        out[entry.code] = entry
    return out


REGISTRY: dict[str, ProblemType] = _registry(
    # Requests and identifiers
    ProblemType("REQUEST_INVALID", 400, "Request invalid",
                "The body or parameters do not match the operation's schema."),
    ProblemType("BODY_TOO_LARGE", 413, "Body too large", "The request body exceeds the accepted size."),
    ProblemType("UNSUPPORTED_MEDIA_TYPE", 415, "Unsupported media type",
                "The request's Content-Type is not one this operation accepts."),
    ProblemType("ID_INVALID", 422, "Identifier invalid",
                "A citizen ID (CCCD), legacy ID (CMND) or other identifier breaks a named rule."),
    ProblemType("JUDGMENT_NUMBER_INVALID", 422, "Judgment number invalid",
                "A judgment or decision number does not follow seq/yyyy/TYPE-INSTANCE."),
    ProblemType("AMOUNT_INVALID", 422, "Amount invalid",
                "Money must be a non-negative whole number of VND."),
    ProblemType("PROVINCE_UNKNOWN", 422, "Province unknown",
                "A province code or name is not among the 34 current or 63 former provinces."),
    ProblemType("DATE_INVALID", 422, "Date invalid", "A date is malformed or breaks a named rule."),
    ProblemType("PURPOSE_MISSING", 422, "Purpose missing",
                "A look-up of a person must name the case, the officer and the legal purpose."),
    # Callers
    ProblemType("AUTH_REQUIRED", 401, "Authentication required",
                "No bearer API key was sent, or it is malformed or unknown."),
    ProblemType("KEY_REVOKED", 401, "API key revoked", "The API key was revoked by an administrator."),
    ProblemType("SCOPE_MISSING", 403, "Scope not granted",
                "The API client is not granted the scope this operation needs."),
    ProblemType("CLIENT_EXISTS", 409, "Client exists", "An API client with that name already exists."),
    ProblemType("SCOPE_UNKNOWN", 422, "Scope unknown", "A scope name is not in the scope registry."),
    # Routing and generic HTTP
    ProblemType("NOT_FOUND", 404, "Not found", "No resource at this path or with this identifier."),
    ProblemType("METHOD_NOT_ALLOWED", 405, "Method not allowed",
                "The path exists but does not accept this method."),
    ProblemType("CONFLICT", 409, "Conflict", "The request conflicts with the resource's current state."),
    # XML and trust (used from Trust I on)
    ProblemType("XML_MALFORMED", 400, "XML malformed", "The document is not well-formed XML."),
    ProblemType("XML_FORBIDDEN_CONSTRUCT", 400, "Forbidden XML construct",
                "DOCTYPE, entities, XInclude or processing the hub never accepts."),
    ProblemType("XML_TOO_LARGE", 413, "XML too large",
                "The document exceeds the byte, depth or element-count limit."),
    ProblemType("SCHEMA_INVALID", 422, "Schema invalid", "The document does not validate against its XSD."),
    ProblemType("SIGNATURE_INVALID", 401, "Signature invalid",
                "The signature is missing, malformed, does not cover the expected element, or fails."),
    ProblemType("CERT_UNTRUSTED", 401, "Certificate untrusted",
                "The signing certificate does not chain to a configured CA."),
    ProblemType("CERT_EXPIRED", 401, "Certificate expired",
                "The signing certificate is expired or not yet valid."),
    ProblemType("CERT_WRONG_AGENCY", 403, "Certificate of another agency",
                "The certificate belongs to a different agency than the message claims."),
    ProblemType("CERT_REVOKED", 401, "Certificate revoked", "The signing certificate is on the revocation list."),
    ProblemType("REPLAY", 409, "Replay", "The message id was already seen inside its validity window."),
    ProblemType("MESSAGE_EXPIRED", 401, "Message expired",
                "The envelope's Created/Expires window does not contain the current time."),
    # Agencies and dependencies
    ProblemType("AGENCY_UNAVAILABLE", 503, "Agency unavailable",
                "An agency did not answer in time or answered with a failure."),
    ProblemType("AGENCY_TIMEOUT", 504, "Agency timed out",
                "An agency did not answer within the call's deadline; the call was cancelled."),
    ProblemType("AGENCY_REJECTED", 422, "Agency rejected the request",
                "The agency answered and refused the request, with its reason."),
    ProblemType("AGENCY_INVALID_RESPONSE", 502, "Agency answer invalid",
                "The agency's answer is malformed or breaks its published contract."),
    ProblemType("CIRCUIT_OPEN", 503, "Circuit open",
                "Recent calls to this agency failed; calls fail fast until the breaker half-opens."),
    ProblemType("QUEUE_FULL", 503, "Queue full",
                "A work queue holds as much open work as it may; try again once workers have drained it."),
    ProblemType("DEPENDENCY_UNAVAILABLE", 503, "Dependency unavailable",
                "A component the hub needs (database, Redis) is not reachable."),
    ProblemType("INTERNAL", 500, "Internal error",
                "A bug in the hub. The response carries an id to find the traceback in the logs."),
)


class HubError(Refusal):
    """Base of every typed refusal. ``code`` must be a key of ``REGISTRY``.

    ``rule`` names the precise rule that failed (e.g. ``province_code``) so that a caller can act on
    it without parsing prose; ``extra`` carries further machine-readable members of the problem.
    """

    default_code = "INTERNAL"

    def __init__(self, detail: str, *, code: str | None = None, rule: str | None = None,
                 **extra: Any) -> None:
        code = code or self.default_code
        if code not in REGISTRY:
            raise KeyError(f"unregistered error code {code}")
        super().__init__(detail, code=code, rule=rule, **extra)

    @property
    def problem(self) -> ProblemType:
        return REGISTRY[self.code]


class InvalidValue(HubError, ValueError):
    """A value from outside breaks a domain rule.

    Subclassing ValueError lets pydantic validators raise it and keep it in the validation error's
    context, so the API edge can still report the precise code and rule.
    """

    default_code = "REQUEST_INVALID"


class AuthError(HubError):
    default_code = "AUTH_REQUIRED"


class NotFound(HubError):
    default_code = "NOT_FOUND"


class Conflict(HubError):
    default_code = "CONFLICT"


class DependencyUnavailable(HubError):
    default_code = "DEPENDENCY_UNAVAILABLE"


class AgencyError(HubError):
    """A failure talking to an agency. ``transient`` errors may be retried (for idempotent operations);
    the others are answers, and asking again would only get the same answer."""

    default_code = "AGENCY_UNAVAILABLE"
    transient = False


class AgencyNotFound(AgencyError):
    default_code = "NOT_FOUND"


class AgencyRejected(AgencyError):
    default_code = "AGENCY_REJECTED"


class AgencyUnavailable(AgencyError):
    default_code = "AGENCY_UNAVAILABLE"
    transient = True


class AgencyTimeout(AgencyError):
    default_code = "AGENCY_TIMEOUT"
    transient = True


class AgencyInvalidResponse(AgencyError):
    default_code = "AGENCY_INVALID_RESPONSE"


class AgencySignatureInvalid(AgencyError):
    default_code = "SIGNATURE_INVALID"


class CircuitOpen(AgencyError):
    default_code = "CIRCUIT_OPEN"


def problem_type_uri(code: str) -> str:
    return PROBLEM_TYPE_PREFIX + code


def registry_markdown() -> str:
    """The registry as the Markdown table in docs/errors.md (a test keeps the two identical)."""
    lines = ["# Error codes", "",
             "Every refusal names one code. REST answers carry it as the problem+json `type`",
             "(`urn:thads:problem:<CODE>`) and `code`; SOAP faults carry it as the fault subcode.", "",
             "| code | HTTP | title | meaning |", "|---|---|---|---|"]
    lines += [f"| `{p.code}` | {p.status} | {p.title} | {p.description} |" for p in REGISTRY.values()]
    return "\n".join(lines) + "\n"
