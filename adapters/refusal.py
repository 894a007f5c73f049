"""The exception adapters raise when input from outside is refused.

Adapters depend on third-party libraries only, so they cannot import the hub's error registry; they
name a registry code as a plain string instead. ``hub.errors.HubError`` derives from this class, so the
API edge turns both into the same problem+json, and a test checks every code used here is registered.
"""

from __future__ import annotations

from typing import Any


class Refusal(Exception):
    def __init__(self, detail: str, *, code: str, rule: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.rule = rule
        self.extra = extra
