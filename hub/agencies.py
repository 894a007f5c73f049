"""The agency configuration (THADS_AGENCIES_FILE, TOML): one table per agency under ``[agencies]``.

    [agencies.land]
    protocol = "soap"
    base_url = "http://127.0.0.1:8100/land"
    wsdl = "http://127.0.0.1:8100/land?wsdl"
    certificate = ".thads/pki/land.pem"
    timeout_s = 5.0
    rate_limit_per_s = 50

    [agencies."bank-970436"]
    ...

Validated once at start-up; an error names the agency and the field.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from adapters.agency_id import AGENCY_ID
from hub.errors import HubError


class RetryPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    attempts: int = Field(3, ge=1, le=10)
    backoff_initial_s: float = Field(0.2, gt=0, le=60)
    backoff_max_s: float = Field(5.0, gt=0, le=600)


class BreakerPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    failures: int = Field(5, ge=1, le=1000)
    reset_s: float = Field(30.0, gt=0, le=3600)


class AgencyAuth(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["none", "oauth2_client_credentials", "api_key", "hmac"] = "none"
    token_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    api_key: str | None = None
    hmac_secret: str | None = None


class AgencyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    protocol: Literal["soap", "rest"]
    base_url: str = Field(pattern=r"^https?://")
    wsdl: str | None = None
    openapi: str | None = None
    certificate: Path | None = Field(None, description="The agency's certificate, pinned in the trust store.")
    timeout_s: float = Field(5.0, gt=0, le=300)
    connect_timeout_s: float = Field(2.0, gt=0, le=60)
    rate_limit_per_s: float = Field(50.0, gt=0)
    concurrency: int = Field(16, ge=1, le=1024)
    retry: RetryPolicy = RetryPolicy()
    breaker: BreakerPolicy = BreakerPolicy()
    auth: AgencyAuth = AgencyAuth()
    log_body: Literal["full", "metadata"] = "metadata"


class AgenciesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agencies: dict[str, AgencyConfig] = Field(default_factory=dict)


def load_agencies(path: Path) -> dict[str, AgencyConfig]:
    if not path.exists():
        return {}
    try:
        data = AgenciesFile.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except tomllib.TOMLDecodeError as exc:
        raise HubError(f"{path}: not valid TOML: {exc}", code="REQUEST_INVALID", rule="agencies_file") from None
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise HubError(f"{path}: {where}", code="REQUEST_INVALID", rule="agencies_file") from None
    bad = [name for name in data.agencies if not AGENCY_ID.match(name)]
    if bad:
        raise HubError(f"{path}: not agency ids of the Conventions: {', '.join(bad)}", code="REQUEST_INVALID",
                       rule="agencies_file")
    return data.agencies


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_agencies(path: Path, agencies: dict[str, AgencyConfig]) -> None:
    """Write the file (mode 0600: it holds the sandbox's client secrets)."""
    lines = ["# Written by `thads-hub sandbox`: points the hub at the sandbox agencies.", ""]
    for name, cfg in agencies.items():
        data = cfg.model_dump(exclude_none=True, mode="json")
        lines.append(f'[agencies."{name}"]')
        nested = {k: v for k, v in data.items() if isinstance(v, dict)}
        for key, value in data.items():
            if key not in nested:
                lines.append(f"{key} = {_toml_value(value)}")
        for key, table in nested.items():
            lines.append(f'[agencies."{name}".{key}]')
            lines += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
        lines.append("")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
