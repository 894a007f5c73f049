"""Bearer-key authentication and scope checks, as FastAPI dependencies any route can reuse."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.clients import ApiClient, authenticate
from hub.errors import AuthError, HubError

_bearer = HTTPBearer(auto_error=False, description="API key from `thads-hub clients add`.")


def current_client(request: Request,
                   creds: HTTPAuthorizationCredentials | None = Depends(_bearer)) -> ApiClient:
    if creds is None:
        raise AuthError("send 'Authorization: Bearer <API key>'", rule="bearer_present")
    client = authenticate(request.app.state.services.db, creds.credentials)
    request.state.client = client
    return client


def require_scopes(*scopes: str) -> Callable[..., ApiClient]:
    """A dependency that admits a client only if it holds every one of ``scopes``."""

    def dependency(client: ApiClient = Depends(current_client)) -> ApiClient:
        missing = [s for s in scopes if s not in client.scopes]
        if missing:
            raise HubError(f"client {client.name!r} lacks scope(s) {', '.join(missing)}",
                           code="SCOPE_MISSING", rule="scope_granted", missing=missing)
        return client

    return dependency
