"""API clients (case systems, agencies, operators) and their bearer keys.

A key is ``thads_<key id>_<secret>``. Only the SHA-256 of the whole key is stored: the secret is 256
random bits, so a fast hash is as safe as a slow one here and keeps authentication cheap on every call.
The key id lets us find the row without scanning, and the comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update

from hub.errors import AuthError, Conflict, HubError, NotFound
from hub.scopes import SCOPES
from hub.store.database import Database
from hub.store.tables import api_clients
from hub.store.timestamps import as_utc, utc_now

_KEY_RE = re.compile(r"^thads_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,99}$")


@dataclass(frozen=True)
class ApiClient:
    id: uuid.UUID
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _row_to_client(r: object) -> ApiClient:
    return ApiClient(id=r.id, name=r.name, scopes=tuple(r.scopes),  # type: ignore[attr-defined]
                     created_at=as_utc(r.created_at),  # type: ignore[attr-defined]
                     revoked_at=as_utc(r.revoked_at))  # type: ignore[attr-defined]


def validate_scopes(scopes: list[str]) -> tuple[str, ...]:
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise HubError(f"unknown scope(s): {', '.join(unknown)}; known: {', '.join(SCOPES)}",
                       code="SCOPE_UNKNOWN", rule="scope_registered")
    return tuple(dict.fromkeys(scopes))


def add_client(db: Database, name: str, scopes: list[str]) -> tuple[ApiClient, str]:
    """Create a client; returns it with its key, which is never retrievable again."""
    if not _NAME_RE.match(name):
        raise HubError("a client name is lower-case letters, digits, '.', '_' or '-' (max 100)",
                       code="REQUEST_INVALID", rule="client_name")
    granted = validate_scopes(scopes)
    key_id = secrets.token_hex(8)
    key = f"thads_{key_id}_{secrets.token_urlsafe(32)}"
    client = ApiClient(id=uuid.uuid4(), name=name, scopes=granted, created_at=utc_now(), revoked_at=None)
    with db.begin() as conn:
        if conn.execute(select(api_clients.c.id).where(api_clients.c.name == name)).first():
            raise Conflict(f"client {name!r} exists", code="CLIENT_EXISTS", rule="client_name_unique")
        conn.execute(insert(api_clients).values(
            id=client.id, name=name, key_id=key_id, key_hash=_hash(key), scopes=list(granted),
            created_at=client.created_at))
    return client, key


def list_clients(db: Database) -> list[ApiClient]:
    with db.begin() as conn:
        return [_row_to_client(r) for r in conn.execute(select(api_clients).order_by(api_clients.c.name))]


def grant_scopes(db: Database, name: str, scopes: list[str]) -> ApiClient:
    """Add ``scopes`` to an active client (its key unchanged); a scope it holds already is kept once."""
    wanted = validate_scopes(scopes)
    with db.begin() as conn:
        row = conn.execute(select(api_clients).where(api_clients.c.name == name).with_for_update()).first()
        if row is None:
            raise NotFound(f"no client {name!r}")
        if row.revoked_at is not None:
            raise Conflict(f"client {name!r} is revoked: add a new client instead", rule="client_revoked")
        held = list(row.scopes)
        conn.execute(update(api_clients).where(api_clients.c.id == row.id).values(
            scopes=held + [s for s in wanted if s not in held]))
        row = conn.execute(select(api_clients).where(api_clients.c.id == row.id)).one()
    return _row_to_client(row)


def revoke_client(db: Database, name: str) -> ApiClient:
    with db.begin() as conn:
        row = conn.execute(select(api_clients).where(api_clients.c.name == name)).first()
        if row is None:
            raise NotFound(f"no client {name!r}")
        if row.revoked_at is None:
            conn.execute(update(api_clients).where(api_clients.c.id == row.id).values(revoked_at=utc_now()))
        row = conn.execute(select(api_clients).where(api_clients.c.id == row.id)).one()
    return _row_to_client(row)


def authenticate(db: Database, key: str) -> ApiClient:
    m = _KEY_RE.match(key)
    if not m:
        raise AuthError("malformed API key", rule="key_format")
    with db.begin() as conn:
        row = conn.execute(select(api_clients).where(api_clients.c.key_id == m.group(1))).first()
    if row is None or not hmac.compare_digest(row.key_hash, _hash(key)):
        raise AuthError("unknown API key", rule="key_known")
    if row.revoked_at is not None:
        raise AuthError("this API key was revoked", code="KEY_REVOKED", rule="key_active")
    return _row_to_client(row)


def active_client(db: Database, name: str) -> ApiClient:
    """The client by name, for work done later on its behalf (a batch): refused once it is revoked."""
    with db.begin() as conn:
        row = conn.execute(select(api_clients).where(api_clients.c.name == name)).first()
    if row is None:
        raise NotFound(f"no client {name!r}")
    if row.revoked_at is not None:
        raise AuthError(f"client {name!r} was revoked", code="KEY_REVOKED", rule="key_active")
    return _row_to_client(row)
