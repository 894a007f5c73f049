"""What a case system asks: notify one party of one document."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from hub.commands.requests import _Accountable
from hub.errors import InvalidValue
from hub.model.base import CanonicalModel, ShortText
from hub.model.decisions import Organ
from hub.model.party import Address
from hub.model.person_id import PersonIdStr

DocumentKind = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Phone = Annotated[str, StringConstraints(pattern=r"^0[0-9]{9,10}$")]


class NotifiedDocument(CanonicalModel):
    ref: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] = Field(
        description="Số/ký hiệu of the document notified, '15/QĐ-CCTHADS'.")
    kind: DocumentKind = Field(description="Its kind (enforcement_decision, coercion_decision, summons...): "
                               "the channel policy chooses the channels by it.")
    title: ShortText = Field(description="Trích yếu: the notification's title at VNeID and on the letter.")
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)] | None = Field(
        None, description="What the VNeID notification says; the title when absent.")
    issued_on: dt.date = Field(description="The day the document was issued: the legal deadline runs from it.")
    url: Annotated[str, StringConstraints(pattern=r"^https://", max_length=500)] | None = Field(
        None, description="Where the party can read the document (linked from VNeID).")


class Recipient(CanonicalModel):
    name: ShortText
    person_id: PersonIdStr | None = Field(None, description="The citizen's personal ID (CCCD): needed for VNeID. "
                                          "In the request body only, never in a URL.")
    address: Address = Field(description="Where a registered letter goes (its province is needed).")
    phone: Phone | None = None

    @model_validator(mode="after")
    def _province(self) -> Recipient:
        if self.address.province_code is None:
            raise InvalidValue("a registered letter needs the recipient's province; the address has none",
                               code="PROVINCE_UNKNOWN", rule="recipient_province")
        return self


class NotificationRequest(_Accountable):
    """Thông báo: notify ``recipient`` of ``document`` by the channels the policy names for its kind."""

    document: NotifiedDocument
    office: Organ = Field(description="The enforcement office notifying (the letter's sender).")
    recipient: Recipient

    @property
    def natural_key(self) -> str:
        """One notification per case, document and recipient: the same notice asked again is the same one."""
        who = hashlib.sha256(self.recipient.model_dump_json().encode()).hexdigest()[:32]
        return f"{self.case}|{self.document.ref}|{who}"

    def body_hash(self) -> str:
        return hashlib.sha256(self.model_dump_json(include={"case_ref", "document", "office", "recipient"})
                              .encode()).hexdigest()
