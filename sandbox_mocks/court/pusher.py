"""The court pushing its judgments to the hub: SubmitJudgment of mappings/court/contracts/court-submit.wsdl.

``judgment_push_items`` prepares the SOAP 1.2 messages once, signed by the court (the thads envelope
From "court", Operation "SubmitJudgment", its Body the ba:BanAn document), so that
``framework.pusher.push`` can send them at a chosen rate and repeat some byte for byte.
``soap_sender`` is the court's HTTP client for them and reads what the hub answers:

- ba:BienNhanBanAn TrangThai DA_TIEP_NHAN -> acknowledged;
- TrangThai TRUNG_LAP -> not acknowledged, code ``DUPLICATE`` (the hub already held it);
- a SOAP Fault -> not acknowledged, the Subcode's registry code (REPLAY, SIGNATURE_INVALID...);
- any other HTTP error -> not acknowledged, no code: the report shows the status;
- an answer that is not a receipt it can trust -> not acknowledged, the refusal's code.

With a trust store the receipt's signature is verified (it must be the hub's, addressed to the
court, answering this very message); without one the receipt is only parsed and checked against the
court's XSD.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from lxml import etree

from adapters import soap_envelope
from adapters.envelope import NS as ENV_NS
from adapters.envelope import EnvelopeFields, EnvelopeSigner, EnvelopeVerifier, build_envelope, canonical_hash
from adapters.refusal import Refusal
from adapters.trust_store import TrustStore
from adapters.xml_hardened import parse_xml
from adapters.xsd import CompiledSchema
from sandbox_mocks.court.document import NS, XSD_PATH, judgment_document, q
from sandbox_mocks.framework.pusher import Ack, PushItem, Send
from sandbox_mocks.seed.world import World

OPERATION = "SubmitJudgment"
SERVICE = "judgments"
SOAP_ACTION = f"{NS}#{OPERATION}"
CONTENT_TYPE = f'{soap_envelope.CONTENT_TYPE}; action="{SOAP_ACTION}"'
# Items are prepared before a run and may be repeated late in it: long enough for a bench run, short
# enough that a hub's replay window still covers every repeat.
PUSH_TTL = dt.timedelta(hours=1)

ACCEPTED, DUPLICATE = "DA_TIEP_NHAN", "TRUNG_LAP"


def judgment_push_items(world: World, key_dir: Path, *, count: int, to_agency: str = "hub",
                        start: int = 0) -> list[PushItem]:
    """``count`` signed SubmitJudgment messages for the world's judgments from index ``start``, cycling
    through them when ``count`` exceeds them (each message its own MessageId: a hub that keys intake on
    the judgment answers TRUNG_LAP to the second round). ``item_id`` is the MessageId."""
    if count < 0:
        raise ValueError("count must not be negative")
    if count and not world.judgments:
        raise ValueError("the world has no judgments to push")
    signer = EnvelopeSigner.from_key_dir(key_dir, "court")
    items: list[PushItem] = []
    for i in range(count):
        judgment = world.judgments[(start + i) % len(world.judgments)]
        now = dt.datetime.now(dt.UTC)
        header = EnvelopeFields(message_id=str(uuid.uuid4()), from_agency="court", to_agency=to_agency,
                                service=SERVICE, operation=OPERATION, created=now, expires=now + PUSH_TTL)
        signed = signer.sign(build_envelope(header, judgment_document(judgment)))
        items.append(PushItem(item_id=header.message_id, body=soap_envelope.wrap(signed), content_type=CONTENT_TYPE))
    return items


def _is_fault(data: bytes) -> bool:
    try:
        root = parse_xml(data)
    except Refusal:
        return False
    return root.find(f"{{{soap_envelope.SOAP12}}}Body/{{{soap_envelope.SOAP12}}}Fault") is not None


class ReceiptReader:
    """Turns the hub's answer to one pushed item into an Ack."""

    def __init__(self, trust: TrustStore | None = None, *, hub_agency: str = "hub") -> None:
        self.verifier = EnvelopeVerifier(trust) if trust is not None else None
        self.hub_agency = hub_agency
        self.schema = CompiledSchema.load(XSD_PATH)

    def ack(self, item: PushItem, status: int, content: bytes) -> Ack:
        try:
            payload = soap_envelope.unwrap(content)
        except Refusal as refusal:
            if _is_fault(content):
                return Ack(status=status, acknowledged=False, code=refusal.code, detail=refusal.detail)
            if status >= 400:
                return Ack(status=status, acknowledged=False, detail=content[:200].decode("utf-8", "replace"))
            return Ack(status=status, acknowledged=False, code=refusal.code, detail=refusal.detail)
        if status >= 400:  # an error status around something that is not a fault: trust the status
            return Ack(status=status, acknowledged=False, detail="an answer that is neither a receipt nor a fault")
        try:
            receipt = self.receipt(item, payload)
        except Refusal as refusal:
            return Ack(status=status, acknowledged=False, code=refusal.code, detail=refusal.detail)
        state = receipt.findtext(q("TrangThai"))
        reference = receipt.findtext(q("MaTiepNhan"))
        if state == ACCEPTED:
            return Ack(status=status, acknowledged=True, detail=reference)
        return Ack(status=status, acknowledged=False, code="DUPLICATE", detail=reference)

    def receipt(self, item: PushItem, payload: etree._Element) -> etree._Element:
        """The receipt inside the answer envelope: verified when there is a trust store, schema-checked always."""
        if self.verifier is not None:
            verified = self.verifier.verify(etree.tostring(payload), expected_to="court")
            if verified.signer != self.hub_agency:
                raise Refusal(f"the receipt is signed by {verified.signer}", code="CERT_WRONG_AGENCY",
                              rule="receipt_signer")
            if verified.header.correlation_id != item.item_id:
                raise Refusal("the receipt answers another message", code="AGENCY_INVALID_RESPONSE",
                              rule="correlation")
            if verified.header.request_hash is not None and \
                    verified.header.request_hash != canonical_hash(soap_envelope.unwrap(item.body)):
                raise Refusal("the receipt's RequestHash is not this message's", code="AGENCY_INVALID_RESPONSE",
                              rule="request_hash")
            receipt = verified.body
        else:
            body = payload.find(f"{{{ENV_NS}}}Body")
            if payload.tag != f"{{{ENV_NS}}}Envelope" or body is None or len(body) != 1:
                raise Refusal("the answer is not a thads envelope with one document", code="AGENCY_INVALID_RESPONSE",
                              rule="receipt_envelope")
            receipt = body[0]
        if receipt.tag != q("BienNhanBanAn"):
            raise Refusal(f"expected ba:BienNhanBanAn, got {receipt.tag}", code="AGENCY_INVALID_RESPONSE",
                          rule="receipt_element")
        self.schema.validate(receipt)
        return receipt


def soap_sender(url: str, *, timeout_s: float = 10, trust: TrustStore | None = None,
                hub_agency: str = "hub") -> tuple[Send, Callable[[], Awaitable[None]]]:
    """``send(item) -> Ack`` posting to ``url`` (the hub's /soap/court) over one shared client, and the
    function that closes that client. Connection errors and timeouts propagate: ``push`` reports them."""
    client = httpx.AsyncClient(timeout=timeout_s)
    reader = ReceiptReader(trust, hub_agency=hub_agency)

    async def send(item: PushItem) -> Ack:
        response = await client.post(url, content=item.body,
                                     headers={"Content-Type": item.content_type, **dict(item.headers)})
        return reader.ack(item, response.status_code, response.content)

    return send, client.aclose
