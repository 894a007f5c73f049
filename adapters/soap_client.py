"""SOAP through zeep, with the signed envelope applied at the seams.

- The client is built once (the WSDL and XSDs are read from the agency's local contract files: no
  network fetch, no DTD, no entities) and its endpoint address comes from configuration, not from the
  WSDL.
- Egress: zeep renders the operation's ``env:Envelope`` from the WSDL types; ``SigningPlugin`` signs
  exactly what zeep rendered, in place, with the hub's key.
- Transport: ``VerifyingTransport`` (httpx, async) posts the bytes and verifies the agency's signed
  answer on the raw bytes, before zeep parses anything: signer, addressee, and the RequestHash that
  binds the answer to this very request. A SOAP Fault becomes the Refusal its Subcode names.
- Only the element the verifier returns as signed is handed back to the caller for mapping; zeep does
  not parse the answer at all (the transport returns as soon as the answer is verified).
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import zeep
from lxml import etree
from zeep.plugins import Plugin
from zeep.proxy import AsyncServiceProxy
from zeep.transports import AsyncTransport

from adapters import soap_envelope
from adapters.envelope import NS as ENV_NS
from adapters.envelope import EnvelopeFields, EnvelopeSigner, EnvelopeVerifier, VerifiedEnvelope, canonical_hash
from adapters.refusal import Refusal

_HEADER_TAGS = (("message_id", "MessageId"), ("correlation_id", "CorrelationId"), ("from_agency", "From"),
                ("to_agency", "To"), ("service", "Service"), ("operation", "Operation"), ("created", "Created"),
                ("expires", "Expires"), ("case_ref", "CaseRef"), ("officer", "Officer"), ("purpose", "Purpose"),
                ("request_hash", "RequestHash"))


@dataclass
class SoapExchange:
    """One call's bytes and verdicts, for the caller and the message log."""

    request_envelope: etree._Element | None = None
    request_bytes: bytes | None = None
    response_bytes: bytes | None = None
    status: int | None = None
    verified: VerifiedEnvelope | None = None


_current: contextvars.ContextVar[SoapExchange | None] = contextvars.ContextVar("soap_exchange", default=None)


def _exchange() -> SoapExchange:
    ex = _current.get()
    if ex is None:
        raise RuntimeError("SOAP calls must go through SoapAgencyClient.call")
    return ex


class _Verified(Exception):  # a control-flow signal, not an error
    """Raised by the transport once the answer is verified, to skip zeep's reply parsing."""


class SigningPlugin(Plugin):
    def __init__(self, signer: EnvelopeSigner) -> None:
        self.signer = signer

    def egress(self, envelope: etree._Element, http_headers: dict[str, str], operation: Any,
               binding_options: Any) -> tuple[etree._Element, dict[str, str]]:
        body = envelope.find(f"{{{soap_envelope.SOAP12}}}Body")
        if body is None or len(body) != 1 or body[0].tag != f"{{{ENV_NS}}}Envelope":
            raise Refusal("the operation did not render one env:Envelope", code="INTERNAL", rule="soap_render")
        signed = self.signer.sign(body[0])
        body.replace(body[0], signed)
        _exchange().request_envelope = signed
        return envelope, http_headers


class VerifyingTransport(AsyncTransport):
    def __init__(self, http: httpx.AsyncClient, verifier: EnvelopeVerifier, agency_id: str,
                 operation_timeout: float) -> None:
        super().__init__(client=http, operation_timeout=operation_timeout)
        self.verifier = verifier
        self.agency_id = agency_id

    def load(self, url: str) -> bytes:
        # Contracts are local files; anything that would need the network is refused, not fetched.
        if "://" in url and not url.startswith("file://"):
            raise Refusal(f"refusing to fetch {url}: contracts are read from local files", code="INTERNAL",
                          rule="contract_fetch")
        return bytes(super().load(url))

    async def post(self, address: str, message: bytes, headers: dict[str, str]) -> httpx.Response:
        ex = _exchange()
        ex.request_bytes = message
        response = await self.client.post(address, content=message, headers=headers)
        ex.status, ex.response_bytes = response.status_code, response.content
        payload = soap_envelope.unwrap(response.content)  # a Fault raises its Refusal here
        verified = self.verifier.verify_tree(payload, expected_to="hub")
        if verified.signer != self.agency_id:
            raise Refusal(f"answer signed by {verified.signer}, expected {self.agency_id}",
                          code="CERT_WRONG_AGENCY", rule="answer_signer")
        if ex.request_envelope is None or verified.header.request_hash != canonical_hash(ex.request_envelope):
            raise Refusal("the answer's RequestHash does not match this request", code="SIGNATURE_INVALID",
                          rule="request_hash")
        ex.verified = verified
        # Hand the verified answer straight back to SoapAgencyClient.call: zeep would now parse the whole
        # answer into objects nobody reads (only the verified element is mapped), which costs more CPU than
        # the signature check itself.
        raise _Verified()


class SoapAgencyClient:
    def __init__(self, wsdl: Path, *, agency_id: str, address: str, binding: str, signer: EnvelopeSigner,
                 verifier: EnvelopeVerifier, http: httpx.AsyncClient, operation_timeout: float) -> None:
        settings = zeep.Settings(strict=True, forbid_dtd=True, forbid_entities=True, forbid_external=True,
                                 xml_huge_tree=False)
        self.transport = VerifyingTransport(http, verifier, agency_id, operation_timeout)
        self.zeep = zeep.AsyncClient(str(wsdl), transport=self.transport, plugins=[SigningPlugin(signer)],
                                     settings=settings)
        # create_service would give a synchronous proxy; the async one is built the same way bind() does.
        self.service = AsyncServiceProxy(self.zeep, self.zeep.wsdl.bindings[binding], address=address)

    async def call(self, operation: str, header: EnvelopeFields, business: etree._Element) -> SoapExchange:
        """Send ``business`` in a signed envelope with ``header``; returns the verified exchange."""
        texts: dict[str, str] = {}
        for attr, tag in _HEADER_TAGS:
            value = getattr(header, attr)
            if value is not None:
                texts[tag] = value.isoformat(timespec="milliseconds") if hasattr(value, "isoformat") else str(value)
        ex = SoapExchange()
        token = _current.set(ex)
        try:
            await getattr(self.service, operation)(Header=texts, Body={"_value_1": business})
        except _Verified:
            pass
        except BaseException as exc:
            # The bytes of a failed exchange still belong in the message log.
            exc.soap_exchange = ex  # type: ignore[attr-defined]
            raise
        finally:
            _current.reset(token)
        return ex
