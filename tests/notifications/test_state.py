"""Where a notification stands, from its events in any order; its deadline; and the policy file."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest

from hub.errors import InvalidValue
from hub.model.notification import DeliveryStatus, NotificationChannel
from hub.notifications.policy import ChannelMode, load_policy
from hub.notifications.state import (
    DeadlineState,
    NotificationStatus,
    Seen,
    channel_state,
    deadline_state,
    standing,
)

POSTAL, VNEID = NotificationChannel.POSTAL, NotificationChannel.VNEID
T0 = dt.datetime(2026, 11, 20, 2, 0, tzinfo=dt.UTC)


def _letter(*steps: tuple[int, DeliveryStatus]) -> list[Seen]:
    return [Seen(POSTAL, status, T0 + dt.timedelta(minutes=n), sequence=n) for n, status in steps]


JOURNEY = _letter((1, DeliveryStatus.ACCEPTED), (2, DeliveryStatus.IN_TRANSIT), (3, DeliveryStatus.DELIVERED))


@pytest.mark.parametrize("arrival", list(itertools.permutations(JOURNEY)))
def test_a_journey_in_any_order_ends_delivered(arrival: tuple[Seen, ...]) -> None:
    assert channel_state(arrival) == JOURNEY[2]
    assert standing([POSTAL], arrival, vneid_acceptance_delivers=True).status is NotificationStatus.DELIVERED


def test_before_its_end_the_furthest_step_counts_not_the_last_to_arrive() -> None:
    late = [JOURNEY[1], JOURNEY[0]]
    assert channel_state(late) == JOURNEY[1]
    assert standing([POSTAL], late, vneid_acceptance_delivers=True).status is NotificationStatus.IN_TRANSIT


def test_a_returned_letter_is_returned_unless_another_channel_delivered() -> None:
    returned = [*JOURNEY[:2], Seen(POSTAL, DeliveryStatus.RETURNED, T0, 3, "SAI_DIA_CHI")]
    alone = standing([POSTAL], returned, vneid_acceptance_delivers=True)
    assert alone.status is NotificationStatus.RETURNED and alone.returned_reason == "SAI_DIA_CHI"
    served = [*returned, Seen(VNEID, DeliveryStatus.ACCEPTED, T0 + dt.timedelta(hours=1))]
    both = standing([VNEID, POSTAL], served, vneid_acceptance_delivers=True)
    assert both.status is NotificationStatus.DELIVERED and both.channel is VNEID
    waiting = standing([VNEID, POSTAL], returned, vneid_acceptance_delivers=True)
    assert waiting.status is NotificationStatus.QUEUED  # VNeID has not answered yet


def test_vneid_acceptance_delivers_only_when_the_policy_says_so() -> None:
    accepted = [Seen(VNEID, DeliveryStatus.ACCEPTED, T0)]
    assert standing([VNEID], accepted, vneid_acceptance_delivers=True).delivered_at == T0
    assert standing([VNEID], accepted, vneid_acceptance_delivers=False).status is NotificationStatus.IN_TRANSIT


def test_a_refused_vneid_waits_for_the_fallback_letter_and_fails_without_one() -> None:
    refused = [Seen(VNEID, DeliveryStatus.REFUSED, T0, reason="AGENCY_REJECTED: vneid_consent")]
    assert standing([VNEID, POSTAL], refused, vneid_acceptance_delivers=True).status is NotificationStatus.QUEUED
    assert standing([VNEID], refused, vneid_acceptance_delivers=True).status is NotificationStatus.FAILED


def test_the_deadline_is_met_by_the_end_of_the_due_day_in_vietnam() -> None:
    due = dt.date(2026, 2, 24)
    last_minute = dt.datetime(2026, 2, 24, 16, 59, tzinfo=dt.UTC)  # 23:59 in Viet Nam
    assert deadline_state(due, last_minute, last_minute) is DeadlineState.MET
    assert deadline_state(due, last_minute + dt.timedelta(minutes=1), last_minute) is DeadlineState.MISSED
    assert deadline_state(due, None, last_minute) is DeadlineState.OPEN
    assert deadline_state(due, None, last_minute + dt.timedelta(minutes=1)) is DeadlineState.MISSED


@pytest.mark.parametrize("mode, reachable, channels", [
    (ChannelMode.VNEID_ELSE_POSTAL, True, [VNEID]),
    (ChannelMode.VNEID_ELSE_POSTAL, False, [POSTAL]),
    (ChannelMode.VNEID_AND_POSTAL, True, [VNEID, POSTAL]),
    (ChannelMode.VNEID_AND_POSTAL, False, [POSTAL]),
    (ChannelMode.POSTAL, True, [POSTAL]),
])
def test_the_first_channels_of_each_mode(mode: ChannelMode, reachable: bool,
                                         channels: list[NotificationChannel]) -> None:
    assert mode.first_channels(reachable) == channels


def test_a_deployment_policy_in_the_data_dir_replaces_the_packaged_one(tmp_path: Path) -> None:
    assert load_policy(tmp_path).mode_for("anything") is ChannelMode.VNEID_ELSE_POSTAL
    (tmp_path / "notifications.toml").write_text('deadline_rule = "notification"\ndefault_mode = "postal"\n',
                                                 encoding="utf-8")
    assert load_policy(tmp_path).mode_for("enforcement_decision") is ChannelMode.POSTAL
    (tmp_path / "notifications.toml").write_text('deadline_rule = "nine_days"\ndefault_mode = "pigeon"\n',
                                                 encoding="utf-8")
    with pytest.raises(InvalidValue) as refused:
        load_policy(tmp_path)
    assert refused.value.rule == "notification_policy_invalid"
    assert "deadline_rule" in refused.value.detail and "default_mode" in refused.value.detail
