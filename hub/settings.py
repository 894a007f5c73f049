"""Settings, read from the environment (prefix ``THADS_``) and validated once at start-up.

The variable names are part of the Conventions (ARCHITECTURE.md): THADS_DATA_DIR, THADS_DATABASE_URL,
THADS_REDIS_URL, THADS_KEY_DIR, THADS_AGENCIES_FILE. Paths that default "inside the data dir" are
derived after the data dir is known, so moving the data dir moves everything with it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hub.errors import HubError

_SUPPORTED_DB_SCHEMES = ("sqlite", "postgresql")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="THADS_", extra="ignore", validate_default=True)

    data_dir: Path = Field(Path("./.thads"), description="Where the embedded database, keys and "
                           "the agencies file live unless configured otherwise.")
    database_url: str = Field("", description="SQLAlchemy URL. Default: a SQLite file in the data dir. "
                              "Production: postgresql+psycopg://user@host/db.")
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis for streams, idempotency, "
                           "rate limits and breaker state.")
    redis_key_prefix: str = Field("thads:", description="Prefix of every Redis key the hub writes, so "
                                  "several hubs (or test runs) can share one Redis.")
    key_dir: Path | None = Field(None, description="PKI directory. Default: <data dir>/pki.")
    agencies_file: Path | None = Field(None, description="Agency configuration (TOML). "
                                       "Default: <data dir>/agencies.toml.")
    log_partitions: int = Field(16, ge=1, le=1024, description="Hash-chain partitions of the message log; "
                                "at least the number of writer processes, so appends never queue on one lock.")
    checkpoint_seconds: int = Field(60, ge=0, description="How often the API seals the message log with a "
                                    "signed checkpoint (0: never; use `thads-hub audit checkpoint`).")
    clock_skew_seconds: int = Field(300, ge=0, le=3600, description="Allowed clock difference with agencies "
                                    "for envelope Created/Expires windows and replay memory.")
    holidays_file: Path | None = Field(None, description="Holiday calendar (TOML) for working-day "
                                       "deadlines. Default: the calendar shipped with the hub.")

    @field_validator("database_url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        if value and value.split(":", 1)[0].split("+", 1)[0] not in _SUPPORTED_DB_SCHEMES:
            raise ValueError(f"THADS_DATABASE_URL must be a sqlite or postgresql URL, got {value!r}")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"THADS_REDIS_URL must start with redis://, rediss:// or unix://, got {value!r}")
        return value

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'thads.db').resolve()}"
        if self.key_dir is None:
            self.key_dir = self.data_dir / "pki"
        if self.agencies_file is None:
            self.agencies_file = self.data_dir / "agencies.toml"
        return self

    @property
    def keys(self) -> Path:
        assert self.key_dir is not None  # set by _derive_paths
        return self.key_dir

    @property
    def agencies(self) -> Path:
        assert self.agencies_file is not None
        return self.agencies_file


class SettingsError(HubError):
    default_code = "REQUEST_INVALID"


def load_settings(**overrides: object) -> Settings:
    """Read the environment, turning pydantic's report into one readable message per variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = "THADS_" + "_".join(str(p) for p in err["loc"]).upper()
            lines.append(f"{name}: {err['msg']}")
        raise SettingsError("invalid configuration:\n  " + "\n  ".join(lines)) from None


@cache
def get_settings() -> Settings:
    return load_settings()
