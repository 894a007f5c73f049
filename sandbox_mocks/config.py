"""The sandbox's start-up configuration: which world, which faults, where the hub listens."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from sandbox_mocks.framework.faults import FaultConfig

SANDBOX_BANK_BINS = ("970436", "970418", "970405")


class SandboxConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(8100, ge=1, le=65535)
    seed: int = 2026
    citizens: int = Field(10_000, ge=10, le=2_000_000)
    key_dir: Path
    hub_url: str = Field("http://127.0.0.1:8000", description="Where pushed events and callbacks go.")
    bank_bins: tuple[str, ...] = SANDBOX_BANK_BINS
    population_client_id: str = "thads-hub"
    population_client_secret: str = "sandbox-secret"
    postal_api_key: str = "sandbox-postal-key"
    postal_hmac_secret: str = "sandbox-postal-hmac"
    faults: dict[str, FaultConfig] = Field(default_factory=dict, description="Per agency id, at start-up.")

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"


def load_faults(path: Path) -> dict[str, FaultConfig]:
    """Start-up faults from TOML: one table per agency id, e.g. [population] latency_ms = 200."""
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return {agency: FaultConfig.model_validate(values) for agency, values in raw.items()}
