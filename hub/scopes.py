"""The scopes an API client can be granted. A scope not listed here cannot be granted, so a typo in
``clients add --scopes`` fails at once instead of producing a client that is silently refused later."""

from __future__ import annotations

SCOPES: dict[str, str] = {
    "clients:admin": "Manage API clients over the API (list).",
    "verify:identity": "Look up a person's identity at the population database.",
    "verify:residence": "Look up a person's residence at the population database.",
    "verify:bank_accounts": "Look up a person's bank accounts at every configured bank.",
    "verify:land": "Look up a person's land parcels at the land registry.",
    "audit:read": "Read the message log and subject reports.",
    "cases:read": "Read intake records and enforcement cases: the judgments feed, GET /v1/cases/{id}, and webhook "
                  "subscriptions to new intake records.",
    "command:freeze": "Freeze and release bank accounts (each freeze's decision is copied to the procuracy).",
    "command:land": "Register and lift restrictions on land use rights at the land registry.",
    "command:procuracy": "Send decisions to the procuracy for supervision.",
    "command:notify": "Notify parties of documents (VNeID with consent, else registered mail) and read the outcome.",
    "command:payout": "Pay creditors pro rata by bank transfer (bulk payouts) and re-send rejected transfers.",
}
