"""The land registry (Văn phòng đăng ký đất đai) mapping: its SOAP contract's elements <-> the canonical model.

Pure functions only (lxml in, canonical pydantic out, and back for requests); the connector in
``connectors.land`` does the calling. ``ELEMENTS`` declares, for every element of
``contracts/land-registry.xsd`` (as a path from its global element), where it lands:

- ``canonical:<Model.field>``: a field of the canonical model;
- ``extensions:<Model>.extensions[<key>]``: kept verbatim in that model's extensions;
- ``request:<source>``: a request element, built from that canonical value or argument;
- ``check:<what>``: an echo or a count, verified against the request (a mismatch is an invalid answer);
- ``error:<where>``: a refusal, carried by the typed error;
- ``receipt:<where>``: the registry's receipt, returned beside the canonical restriction.

A test derives the element list from the XSD and fails when one is missing here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from mappings.land.parcels import (
    FIND_BY_CERTIFICATE,
    FIND_BY_OWNER,
    NS,
    PARCEL_ELEMENTS,
    RESTRICTION_KINDS,
    THUA_DAT_ELEMENTS,
    address_from,
    canonical_serial,
    parcel_by_certificate_from,
    parcel_by_certificate_request,
    parcel_from,
    parcels_of_owner_from,
    parcels_of_owner_request,
    wire_serial,
)
from mappings.land.restrictions import (
    KIND_CODES,
    LIFT,
    REGISTER,
    RESTRICTION_ELEMENTS,
    RestrictionReceipt,
    idempotency_key,
    lift_request,
    lifted_from,
    register_note,
    register_request,
    registered_from,
)

CONTRACTS: Final = Path(__file__).resolve().with_name("contracts")
WSDL: Final = CONTRACTS / "land-registry.wsdl"
XSD: Final = CONTRACTS / "land-registry.xsd"
BINDING: Final = f"{{{NS}}}DangKyDatDaiSoap12Binding"

ELEMENTS: Final[dict[str, str]] = {**PARCEL_ELEMENTS, **RESTRICTION_ELEMENTS}

__all__ = [
    "BINDING", "CONTRACTS", "ELEMENTS", "FIND_BY_CERTIFICATE", "FIND_BY_OWNER", "KIND_CODES", "LIFT", "NS",
    "REGISTER", "RESTRICTION_KINDS", "THUA_DAT_ELEMENTS", "WSDL", "XSD", "RestrictionReceipt", "address_from",
    "canonical_serial", "idempotency_key", "lift_request", "lifted_from", "parcel_by_certificate_from",
    "parcel_by_certificate_request", "parcel_from", "parcels_of_owner_from", "parcels_of_owner_request",
    "register_note", "register_request", "registered_from", "wire_serial",
]
