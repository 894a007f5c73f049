"""The land registry connector (agency ``land``): SOAP 1.2 through the local contract WSDL.

Calls: every operation runs through ``ctx.guard`` (deadline, rate limit, breaker; retries only for
look-ups and for the keyed side effects). Each attempt signs a fresh envelope (new MessageId, the
CallContext's case, officer and purpose), and only the element the verifier returns as signed is
validated against ``land-registry.xsd`` and mapped.

Logging: ONE message-log exchange per call, holding a request/response pair for EVERY attempt (the
raw bytes as sent and as received, the envelope header sent and the verified header received), and,
when the call fails, the closing refusal the recorder adds (so a retried call shows each attempt, and
a call the breaker stopped shows as refused with CIRCUIT_OPEN although nothing was sent).

Errors: a SOAP Receiver fault, HTTP 5xx or a connection failure -> AgencyUnavailable (504 and client
time-outs -> AgencyTimeout), both transient; a Sender fault (the registry refused our message) ->
AgencyRejected with the fault's code as rule; an answer that fails the signature or trust checks ->
AgencySignatureInvalid; a malformed or schema-breaking answer -> AgencyInvalidResponse; a registry
refusal (TuChoi) -> AgencyRejected with its MaLoi as rule; an unknown certificate -> None.
"""

from __future__ import annotations

import contextvars
import copy
import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import ClassVar, TypeVar

import httpx
from lxml import etree

from adapters.envelope import EnvelopeFields
from adapters.refusal import Refusal
from connectors.soap_base import SoapConnector
from connectors.soap_errors import attempt_outcome, typed_soap_error
from hub.audit.log import Outcome
from hub.audit.recorder import Exchange
from hub.connector import OperationSpec, note_provenance
from hub.errors import (
    AgencyError,
    AgencyInvalidResponse,
    AgencySignatureInvalid,
)
from hub.model.assets import LandParcel
from hub.model.decisions import AgencyReceipt, DecisionRef
from hub.model.measures import LandRestriction
from hub.resilience.context import CallContext
from mappings import land as m

T = TypeVar("T")

HUB = "hub"
SERVICE = "land"
ENVELOPE_TTL = dt.timedelta(minutes=5)
# Codes of the answer checks that say the answer cannot be trusted (signature, certificate, binding).


@dataclass
class _Wire:
    """What went over the wire in one attempt, seen by the HTTP client's hooks (kept when it fails)."""

    request: bytes | None = None
    status: int | None = None
    response: bytes | None = None


_wire: contextvars.ContextVar[_Wire | None] = contextvars.ContextVar("land_wire", default=None)


async def _on_request(request: httpx.Request) -> None:
    wire = _wire.get()
    if wire is not None:
        wire.request = request.content


async def _on_response(response: httpx.Response) -> None:
    wire = _wire.get()
    if wire is not None:
        await response.aread()
        wire.status, wire.response = response.status_code, response.content


def _typed(exc: BaseException, wire: _Wire, operation: str) -> BaseException:
    return typed_soap_error(exc, agency="land", where=f"land {operation}", status=wire.status,
                            request=wire.request, response=wire.response)

def _outcome(exc: BaseException) -> tuple[Outcome, str]:
    return attempt_outcome(exc)

class LandConnector(SoapConnector):
    """ParcelSource, plus certificate look-ups and restriction registration at the land registry."""

    kind: ClassVar[str] = "land"
    operations: ClassVar[tuple[OperationSpec, ...]] = (
        OperationSpec("find_parcels", True, "TraCuuThuaDatTheoChuSoHuu: the parcels a person holds, alone or "
                      "jointly (an empty list when none). A look-up: retried on transient failures."),
        OperationSpec("parcel_by_certificate", True, "TraCuuThuaDatTheoGiayChungNhan: one parcel by its "
                      "certificate serial, None when the registry has no such certificate. A look-up: retried."),
        OperationSpec("register_restriction", True, "DangKyHanChe: register a halt (TAMDUNG) or seizure (KEBIEN) "
                      "decision on a certificate. Idempotent at the registry by (SoQuyetDinh, SoPhatHanhGCN): "
                      "sent with idempotency key '<decision>:<serial>' and retried on transient failures; the "
                      "same registration again answers the first receipt and registers nothing more."),
        OperationSpec("lift_restriction", True, "GoHanChe: lift a registered restriction by a lifting decision. "
                      "Idempotent at the registry by (SoQuyetDinh, SoPhatHanhGCN): sent with idempotency key "
                      "'<decision>:<serial>' and retried; the same lift again answers the first lift receipt."),
    )

    wsdl: ClassVar[Path] = m.WSDL
    xsd: ClassVar[Path] = m.XSD
    binding: ClassVar[str] = m.BINDING

    def _configure_http(self, http: httpx.AsyncClient) -> None:
        http.event_hooks = {"request": [_on_request], "response": [_on_response]}

    # --- capabilities ------------------------------------------------------------------------------------
    async def find_parcels(self, owner_id: str, call: CallContext) -> list[LandParcel]:
        """ParcelSource: every parcel the person holds (alone or jointly); [] when none."""
        request = m.parcels_of_owner_request(owner_id)
        return await self._call(m.FIND_BY_OWNER, request, call, idempotent=True,
                                subject=owner_id.strip(), mapper=lambda body: m.parcels_of_owner_from(body, owner_id))

    async def parcel_by_certificate(self, serial: str, call: CallContext) -> LandParcel | None:
        """The parcel of a certificate (serial with or without the space), None when none is registered."""
        request = m.parcel_by_certificate_request(serial)
        return await self._call(m.FIND_BY_CERTIFICATE, request, call, idempotent=True,
                                subject=call.subject_person_id,
                                mapper=lambda body: m.parcel_by_certificate_from(body, serial))

    async def register_restriction(self, restriction: LandRestriction, office: str, decided_on: date,
                                   call: CallContext) -> LandRestriction:
        """Register the halt or seizure; APPLIED with ``registered_at`` (the registry's reception time),
        or AgencyRejected with the registry's MaLoi as ``rule``."""
        request = m.register_request(restriction, office, decided_on, m.register_note(restriction))
        keyed = dataclasses.replace(call, idempotency_key=m.idempotency_key(restriction.decision_ref,
                                                                            restriction.certificate_serial))
        if restriction.requested_at is None:
            restriction = restriction.model_copy(update={"requested_at": dt.datetime.now(dt.UTC)})
        registered = restriction
        return await self._call(m.REGISTER, request, keyed, idempotent=False, subject=call.subject_person_id,
                                mapper=lambda body: m.registered_from(body, registered)[0])

    async def lift_restriction(self, restriction: LandRestriction, lift_decision_ref: str, call: CallContext,
                               lifted_on: date | None = None) -> LandRestriction:
        """Lift the restriction registered under ``restriction.decision_ref``; LIFTED, or AgencyRejected."""
        request = m.lift_request(restriction, lift_decision_ref, lifted_on)
        keyed = dataclasses.replace(call, idempotency_key=m.idempotency_key(restriction.decision_ref,
                                                                            restriction.certificate_serial))
        return await self._call(m.LIFT, request, keyed, idempotent=False, subject=call.subject_person_id,
                                mapper=lambda body: m.lifted_from(body, restriction, lift_decision_ref)[0])

    # RestrictionRegistry: the same acts, answered with the registry's receipt (its MaTiepNhan) for the commands.
    async def restrict_parcel(self, restriction: LandRestriction, decision: DecisionRef,
                              call: CallContext) -> AgencyReceipt:
        done = await self.register_restriction(restriction, decision.office.name, decision.issued_on, call)
        return AgencyReceipt(reference=done.extensions[f"{m.REGISTER}/MaTiepNhan"], at=done.registered_at,
                             details={"status": done.status.value, "kind": done.kind.value})

    async def lift_parcel_restriction(self, restriction: LandRestriction, lift: DecisionRef,
                                      call: CallContext) -> AgencyReceipt:
        done = await self.lift_restriction(restriction, lift.ref, call, lift.issued_on)
        return AgencyReceipt(reference=done.extensions[f"{m.LIFT}/MaTiepNhan"], at=done.lifted_at,
                             details={"status": done.status.value, "kind": done.kind.value})

    # --- one call, its attempts and its log ----------------------------------------------------------
    async def _call(self, operation: str, request: etree._Element, call: CallContext, *, idempotent: bool,
                    subject: str | None, mapper: Callable[[etree._Element], T]) -> T:
        await self.start()
        async with self.ctx.recorder.exchange_async("outbound", self.agency_id, operation, service=SERVICE,
                                                    subject_person_id=subject) as ex:

            async def attempt(timeout_s: float) -> T:
                return await self._attempt(ex, operation, request, call, mapper)

            return await self.ctx.guard.call(attempt, call, idempotent=idempotent)

    def _header(self, operation: str, call: CallContext) -> EnvelopeFields:
        now = dt.datetime.now(dt.UTC)
        return EnvelopeFields(message_id=str(uuid.uuid4()), from_agency=HUB, to_agency=self.agency_id,
                              service=SERVICE, operation=operation, created=now, expires=now + ENVELOPE_TTL,
                              case_ref=call.case_ref, officer=call.officer, purpose=call.purpose)

    async def _attempt(self, ex: Exchange, operation: str, request: etree._Element, call: CallContext,
                       mapper: Callable[[etree._Element], T]) -> T:
        assert self._client is not None and self._schema is not None
        header = self._header(operation, call)
        wire = _Wire()
        token = _wire.set(wire)
        try:
            soap = await self._client.call(operation, header, copy.deepcopy(request))
        except BaseException as exc:
            typed = _typed(exc, wire, operation)
            self._log_failure(ex, header, wire, typed)
            if typed is exc:
                raise
            raise typed from exc
        finally:
            _wire.reset(token)
        verified = soap.verified
        ex.request(soap.request_bytes or wire.request, header)
        if verified is None:  # pragma: no cover - the transport raises instead of returning unverified
            raise AgencySignatureInvalid(f"land {operation}: the answer was not verified", rule="unverified")
        answer = soap.response_bytes or wire.response
        try:
            self._schema.validate(verified.body)
            result = mapper(verified.body)
        except Refusal as exc:
            error = exc if isinstance(exc, AgencyError) else AgencyInvalidResponse(
                f"land {operation}: the answer is invalid: {exc.detail}", rule=exc.rule or exc.code.lower())
            outcome, code = _outcome(error)
            ex.response(answer, verified.header, outcome=outcome)
            ex.records[-1].error_code = code
            if error is exc:
                raise
            raise error from exc
        ex.response(answer, verified.header, outcome="not_found" if result is None else "ok")
        note_provenance(verified.header.message_id, verified.payload_hash, verified.signer)
        return result

    @staticmethod
    def _log_failure(ex: Exchange, header: EnvelopeFields, wire: _Wire, error: BaseException) -> None:
        ex.request(wire.request, header)
        outcome, code = _outcome(error)
        ex.response(wire.response, None, outcome=outcome)
        ex.records[-1].error_code = code
