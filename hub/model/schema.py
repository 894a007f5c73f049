"""The canonical model as one JSON Schema document, published by the API and the CLI."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from hub.model.assets import BankAccount, LandParcel
from hub.model.case import EnforcementCase
from hub.model.envelope import EnvelopeHeader
from hub.model.judgment import Judgment
from hub.model.measures import AccountFreeze, LandRestriction
from hub.model.notification import DeliveryEvent, Notification
from hub.model.party import Address, Party
from hub.model.payments import Payment, Receipt
from hub.model.procuracy import ProcuracyAction
from hub.model.verification import SourceResult, VerificationReport, VerificationRequest

TOP_LEVEL = (Party, Address, Judgment, EnforcementCase, LandParcel, BankAccount, VerificationRequest,
             VerificationReport, SourceResult, Notification, DeliveryEvent, AccountFreeze, LandRestriction,
             ProcuracyAction, Payment, Receipt, EnvelopeHeader)


@cache
def canonical_json_schema() -> dict[str, Any]:
    # Validation mode describes what the hub accepts; it is the stricter of the two views.
    _, schema = models_json_schema([(m, "validation") for m in TOP_LEVEL],
                                   title="thads-hub canonical case model",
                                   description="Canonical model of the THADS interoperability hub.")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "urn:thads:schema:canonical:1"
    return schema
