"""Population database + VNeID (Bộ Công an): pure wire <-> canonical mapping.

``citizen`` maps records and builds request bodies, ``wire`` holds the strict models of the published
JSON Schemas, ``errors`` turns the agency's refusals into the hub's typed errors.
"""

from mappings.population.citizen import (
    FIELDS,
    GENDER_CODES,
    OP_LOOKUP,
    OP_SEARCH,
    OP_TOKEN,
    OP_VNEID,
    PATH_LOOKUP,
    PATH_SEARCH,
    PATH_TOKEN,
    PATH_VNEID,
    VneidReceipt,
    current_address,
    lookup_request,
    old_address,
    parse_lookup,
    parse_lookup_residence,
    parse_search,
    parse_vneid,
    party_from_record,
    search_request,
    vneid_request,
)
from mappings.population.errors import error_from_answer, is_token_refused, token_error

__all__ = [
    "FIELDS", "GENDER_CODES", "OP_LOOKUP", "OP_SEARCH", "OP_TOKEN", "OP_VNEID", "PATH_LOOKUP", "PATH_SEARCH",
    "PATH_TOKEN", "PATH_VNEID", "VneidReceipt", "current_address", "error_from_answer", "is_token_refused",
    "lookup_request", "old_address", "parse_lookup", "parse_lookup_residence", "parse_search", "parse_vneid",
    "party_from_record", "search_request", "token_error", "vneid_request",
]
