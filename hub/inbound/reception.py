"""The pipeline every pushed document goes through, in this order, before anything is stored:

1. size limit (the route reads at most ``max_bytes``, see :func:`read_bounded`);
2. hardened parse (``adapters.xml_hardened``: no DTD, no entities, limits) of the SOAP message or the
   envelope;
3. XSD: the envelope's schema, then the business document against the sender's contract (through the
   intake capability of its connector), still on the unverified tree: a malformed document costs no
   cryptography;
4. signature and trust (``EnvelopeVerifier``: shape, trust store, the certificate bound to the sender
   the route expects, the Created/Expires window); from here on only the verified tree is read;
5. replay: the store first (a message it took in answers with its first answer, another document under
   its MessageId is a REPLAY), then :class:`MessageMemory`;
6. the desk's own work (map the signed element, store idempotently, answer).

A refusal at any step raises :class:`Refused`, which carries what the negative acknowledgment must be
bound to. The desks turn results and refusals into :class:`Reply` objects (SOAP or REST).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request
from lxml import etree

from adapters import soap_envelope
from adapters.envelope import NS as ENV_NS
from adapters.envelope import EnvelopeSigner, EnvelopeVerifier, VerifiedEnvelope
from adapters.jws_envelope import JwsSigner
from adapters.refusal import Refusal
from adapters.xml_hardened import DEFAULT_LIMITS, XmlLimits, parse_xml
from adapters.xsd import ENVELOPE_XSD, CompiledSchema
from hub.errors import REGISTRY, HubError, problem_type_uri
from hub.inbound.acks import AnswerTo, ack_document, answer, answer_fields, raw_hash
from hub.inbound.intake_store import SeenMessage, find_message
from hub.inbound.memory import MessageMemory
from hub.store.database import Database

XML_MEDIA_TYPE = "application/xml"
PROBLEM_MEDIA_TYPE = "application/problem+json"
JWS_HEADER = "X-JWS-Signature"


@dataclass
class Reply:
    status: int
    body: bytes
    media_type: str
    headers: dict[str, str] = field(default_factory=dict)


class Refused(Exception):
    def __init__(self, refusal: Refusal, to: AnswerTo) -> None:
        super().__init__(refusal.detail)
        self.refusal = refusal
        self.to = to


@dataclass(frozen=True)
class Route:
    """What a route expects: the sender, the service and the operations it may name."""

    agency: str
    service: str
    operations: tuple[str, ...]
    channel: str  # soap or rest


@dataclass(frozen=True)
class Arrival:
    """A verified message and what the store already knows of it."""

    verified: VerifiedEnvelope
    raw: bytes  # the bytes received (the whole SOAP message on the SOAP route)
    soap_version: str | None
    received_at: dt.datetime
    seen: SeenMessage | None

    @property
    def to(self) -> AnswerTo:
        h = self.verified.header
        return AnswerTo(agency=h.from_agency, service=h.service, operation=h.operation, message_id=h.message_id,
                        request_hash=self.verified.envelope_hash)


def precheck(data: bytes) -> None:
    """Steps 2 and 3 for the envelope alone: what any hub refuses, even one that cannot verify or sign yet."""
    tree = parse_xml(data)
    if tree.tag != f"{{{ENV_NS}}}Envelope":
        raise Refusal(f"expected env:Envelope, got {tree.tag}", code="SCHEMA_INVALID", rule="root_element")
    CompiledSchema.load(ENVELOPE_XSD).validate(tree)


def blind_answer(data: bytes, route: Route) -> AnswerTo:
    """What a refusal of a message that never verified is bound to: the bytes, not anything they claim."""
    return AnswerTo(agency=route.agency, service=route.service, operation=route.operations[0], message_id=None,
                    request_hash=raw_hash(data))


async def read_bounded(request: Request, limit: int = DEFAULT_LIMITS.max_bytes) -> bytes:
    """The body, refused as XML_TOO_LARGE as soon as it passes ``limit`` (never read whole first)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise Refusal(f"the body is {declared} bytes, over the {limit} accepted", code="XML_TOO_LARGE",
                      rule="max_bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Refusal(f"the body is over the {limit} bytes accepted", code="XML_TOO_LARGE", rule="max_bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class Reception:
    def __init__(self, db: Database, verifier: EnvelopeVerifier, memory: MessageMemory, signer: EnvelopeSigner,
                 jws_signer: JwsSigner, limits: XmlLimits = DEFAULT_LIMITS) -> None:
        self.db = db
        self.verifier = verifier
        self.memory = memory
        self.signer = signer
        self.jws_signer = jws_signer
        self.limits = limits

    # --- steps 2 to 5 --------------------------------------------------------------------------------
    def _verify(self, data: bytes, route: Route, check_document: Callable[[etree._Element], None],
                soap_version: str | None) -> Arrival:
        received_at = dt.datetime.now(dt.UTC)
        if route.channel == "soap":
            soap_version, tree = soap_envelope.unwrap_any(data, self.limits)
        else:
            tree = parse_xml(data, self.limits)
        if tree.tag != f"{{{ENV_NS}}}Envelope":
            raise Refusal(f"expected env:Envelope, got {tree.tag}", code="SCHEMA_INVALID", rule="root_element")
        self.verifier.schema.validate(tree)
        body = tree.find(f"{{{ENV_NS}}}Body")
        if body is None or len(body) != 1:
            raise Refusal("env:Body must hold exactly one document", code="SCHEMA_INVALID", rule="body")
        check_document(body[0])
        verified = self.verifier.verify_tree(tree, expected_to="hub", now=received_at, schema_checked=True)
        header = verified.header
        if verified.signer != route.agency:
            raise Refusal(f"{verified.signer} may not send to this route", code="CERT_WRONG_AGENCY",
                          rule="route_agency", certificate_agency=verified.signer, claimed_agency=route.agency)
        if header.service != route.service or header.operation not in route.operations:
            raise Refusal(f"{header.service}/{header.operation} is not served here", code="REQUEST_INVALID",
                          rule="operation")
        seen = find_message(self.db, header.from_agency, header.message_id)
        if seen is not None and seen.envelope_hash != verified.envelope_hash:
            raise HubError(f"message {header.message_id} already carried another document", code="REPLAY",
                           rule="message_id_reused", message_id=header.message_id)
        return Arrival(verified=verified, raw=data, soap_version=soap_version, received_at=received_at, seen=seen)

    async def receive(self, data: bytes, route: Route, check_document: Callable[[etree._Element], None],
                      soap_version: str | None = None) -> tuple[Arrival, bool]:
        """The verified arrival and whether it is new (False: a copy of a message already taken in or in
        flight, to be answered with the first answer)."""
        try:
            arrival = await asyncio.to_thread(self._verify, data, route, check_document, soap_version)
        except Refusal as refusal:
            raise Refused(refusal, blind_answer(data, route)) from refusal
        if arrival.seen is not None:
            return arrival, False
        try:
            fresh = await self.memory.admit(arrival.verified.header, arrival.verified.envelope_hash)
        except Refusal as refusal:
            raise Refused(refusal, arrival.to) from refusal
        return arrival, fresh

    # --- answers --------------------------------------------------------------------------------------
    def signed_bytes(self, to: AnswerTo, body: etree._Element) -> bytes:
        return etree.tostring(answer(self.signer, to, body), xml_declaration=True, encoding="UTF-8")

    def soap_reply(self, version: str, to: AnswerTo, body: etree._Element) -> Reply:
        envelope = answer(self.signer, to, body)
        return Reply(200, soap_envelope.wrap_for(version, envelope), soap_envelope.content_type_for(version))

    def soap_fault(self, version: str, refused: Refused, data: bytes) -> Reply:
        r = refused.refusal
        nack = answer(self.signer, refused.to, ack_document(
            "refused", received_at=dt.datetime.now(dt.UTC), received_hash=raw_hash(data), code=r.code, rule=r.rule,
            detail=r.detail))
        sender = REGISTRY[r.code].status < 500 if r.code in REGISTRY else False
        status = 500 if version == "1.1" or not sender else 400
        return Reply(status, soap_envelope.fault_for(version, r.code, r.detail, sender=sender, rule=r.rule,
                                                     detail=nack), soap_envelope.content_type_for(version))

    def problem(self, refused: Refused, instance: str) -> Reply:
        """A REST refusal: problem+json, signed by the hub as a detached JWS in ``X-JWS-Signature``."""
        r = refused.refusal
        code = r.code if r.code in REGISTRY else "INTERNAL"
        p = REGISTRY[code]
        problem = {"type": problem_type_uri(code), "title": p.title, "status": p.status, "detail": r.detail,
                   "code": code, "instance": instance, **({"rule": r.rule} if r.rule else {})}
        body = json.dumps(problem, ensure_ascii=False).encode()
        token = self.jws_signer.sign(answer_fields(refused.to), body)
        return Reply(p.status, body, PROBLEM_MEDIA_TYPE, {JWS_HEADER: token})
