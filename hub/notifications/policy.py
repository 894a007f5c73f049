"""The channel policy (``policy.toml``, or ``<data dir>/notifications.toml`` when a deployment has one)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.deadlines import load_rules
from hub.deadlines.toml_data import load_model
from hub.model.notification import NotificationChannel

PACKAGED = Path(__file__).with_name("policy.toml")
DEPLOYED_NAME = "notifications.toml"


class ChannelMode(StrEnum):
    VNEID_ELSE_POSTAL = "vneid_else_postal"
    POSTAL = "postal"
    VNEID_AND_POSTAL = "vneid_and_postal"

    def first_channels(self, reachable_on_vneid: bool) -> list[NotificationChannel]:
        """The channels tried at once; a VNeID refusal under vneid_else_postal adds the letter later."""
        vneid = [NotificationChannel.VNEID] if reachable_on_vneid else []
        if self is ChannelMode.POSTAL:
            return [NotificationChannel.POSTAL]
        if self is ChannelMode.VNEID_AND_POSTAL:
            return [*vneid, NotificationChannel.POSTAL]
        return vneid or [NotificationChannel.POSTAL]


class PostalPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    callback_url: str = Field("", pattern=r"^(https?://.+)?$")


class NotificationPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    deadline_rule: str
    vneid_acceptance_delivers: bool = True
    default_mode: ChannelMode
    modes: dict[str, ChannelMode] = Field(default_factory=dict)
    postal: PostalPolicy = PostalPolicy()

    @field_validator("deadline_rule")
    @classmethod
    def _known_rule(cls, value: str) -> str:
        if value not in load_rules():
            raise ValueError(f"{value!r} is not a deadline rule of hub/deadlines/rules.toml")
        return value

    def mode_for(self, document_kind: str) -> ChannelMode:
        return self.modes.get(document_kind, self.default_mode)


def load_policy(data_dir: Path) -> NotificationPolicy:
    """The deployment's policy when the data dir has one, else the packaged one; refused whole when invalid."""
    deployed = data_dir / DEPLOYED_NAME
    path = deployed if deployed.is_file() else PACKAGED
    return load_model(NotificationPolicy, path, PACKAGED.name, rule="notification_policy_invalid")
