"""The hub's signed answers to what agencies push: acknowledgments, positive and negative.

Every answer is a hub-signed THADS envelope addressed back to the sender. Its header binds it to what it
answers (CorrelationId: the request's MessageId when it could be read; RequestHash: the canonical hash
of the verified request envelope, or for a document that never got that far the SHA-256 of the bytes
received), so a sender can keep it as proof of what the hub received and when.

The body is the agency's own receipt where its contract defines one (the court's ``ba:BienNhanBanAn``),
otherwise ``ack:Acknowledgment`` (namespace ``urn:thads:ack:1``): Status (accepted / duplicate /
refused), ReceiptId, ReceivedAt, ReceivedHash, and for a refusal Code and Rule from the error registry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Literal

from lxml import etree

from adapters.envelope import EnvelopeFields, EnvelopeSigner, build_envelope

ACK_NS = "urn:thads:ack:1"
ANSWER_TTL = dt.timedelta(minutes=5)
Status = Literal["accepted", "duplicate", "refused"]


@dataclass(frozen=True)
class AnswerTo:
    """What an answer is bound to."""

    agency: str  # To: the sender (claimed, when the request never verified)
    service: str
    operation: str
    message_id: str | None  # CorrelationId
    request_hash: str  # RequestHash


def raw_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ack_document(status: Status, *, received_at: dt.datetime, received_hash: str, receipt_id: str | None = None,
                 code: str | None = None, rule: str | None = None, detail: str | None = None) -> etree._Element:
    root = etree.Element(f"{{{ACK_NS}}}Acknowledgment", nsmap={"ack": ACK_NS})
    values = (("Status", status), ("ReceiptId", receipt_id),
              ("ReceivedAt", received_at.astimezone(dt.UTC).isoformat(timespec="milliseconds")),
              ("ReceivedHash", received_hash), ("Code", code), ("Rule", rule),
              ("Detail", " ".join(detail.split())[:1000] if detail else None))
    for local, text in values:
        if text is not None:
            etree.SubElement(root, f"{{{ACK_NS}}}{local}").text = text
    return root


def answer(signer: EnvelopeSigner, to: AnswerTo, body: etree._Element) -> etree._Element:
    """The hub-signed envelope holding ``body``, answering ``to``."""
    now = dt.datetime.now(dt.UTC)
    header = EnvelopeFields(message_id=str(uuid.uuid4()), correlation_id=to.message_id, from_agency="hub",
                            to_agency=to.agency, service=to.service, operation=to.operation, created=now,
                            expires=now + ANSWER_TTL, request_hash=to.request_hash)
    return signer.sign(build_envelope(header, body))


def answer_fields(to: AnswerTo) -> EnvelopeFields:
    """The envelope fields of a JSON answer (a problem), signed as a detached JWS beside it."""
    now = dt.datetime.now(dt.UTC)
    return EnvelopeFields(message_id=str(uuid.uuid4()), correlation_id=to.message_id, from_agency="hub",
                          to_agency=to.agency, service=to.service, operation=to.operation, created=now,
                          expires=now + ANSWER_TTL, request_hash=to.request_hash)
