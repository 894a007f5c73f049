"""VNPost (registered mail): pure wire <-> canonical mapping, S10 tracking numbers and the HMAC check.

Everything lives in ``mappings.postal.shipment``; the names the connector and the hub's inbound
endpoint use are re-exported here.
"""

from mappings.postal.shipment import (
    API_KEY_HEADER,
    FIELDS,
    HMAC_TOLERANCE_S,
    OP_CREATE,
    OP_STATUS,
    PATH_CREATE,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    VNPOST_STATES,
    check_tracking,
    create_request,
    error_from_answer,
    event_extensions,
    event_from_webhook,
    parse_created,
    parse_status,
    postal_hmac,
    read_webhook,
    s10_check_digit,
    s10_valid,
    status_path,
    verify_postal_hmac,
)

__all__ = [
    "API_KEY_HEADER", "FIELDS", "HMAC_TOLERANCE_S", "OP_CREATE", "OP_STATUS", "PATH_CREATE", "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER", "VNPOST_STATES", "check_tracking", "create_request", "error_from_answer",
    "event_extensions", "event_from_webhook", "parse_created", "parse_status", "postal_hmac", "read_webhook",
    "s10_check_digit", "s10_valid", "status_path", "verify_postal_hmac",
]
