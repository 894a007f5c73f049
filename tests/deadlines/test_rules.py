"""Deadlines computed from the packaged rules, checked by hand against the packaged calendar."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from hub.deadlines import Unit, WorkingCalendar, compute_deadline, load_rules
from hub.errors import InvalidValue

RULE_IDS = {
    "court_handover", "enforcement_decision", "notification", "voluntary_period", "verification",
    "re_verification", "enforcement_request_limit",
}


def test_the_packaged_rules_are_the_previous_law_s_deadlines() -> None:
    rules = load_rules()
    assert set(rules) == RULE_IDS
    periods = {r.id: (r.amount, r.unit) for r in rules.values()}
    assert periods == {
        "court_handover": (30, Unit.CALENDAR_DAYS),
        "enforcement_decision": (5, Unit.WORKING_DAYS),
        "notification": (3, Unit.WORKING_DAYS),
        "voluntary_period": (10, Unit.CALENDAR_DAYS),
        "verification": (10, Unit.CALENDAR_DAYS),
        "re_verification": (6, Unit.MONTHS),
        "enforcement_request_limit": (5, Unit.YEARS),
    }
    assert all("26/2008/QH12" in r.basis and r.status == "confirmed" for r in rules.values())
    assert rules["voluntary_period"].term_vi == "Thời hạn tự nguyện thi hành án"


def test_voluntary_period_ending_on_the_first_day_of_tet_2026_moves_to_23_february(
    vn: WorkingCalendar,
) -> None:
    deadline = compute_deadline("voluntary_period", date(2026, 2, 7), vn)
    assert deadline.nominal_due == date(2026, 2, 17)
    assert deadline.due == date(2026, 2, 23)
    assert deadline.moved
    assert "art. 45(1)" in deadline.basis


def test_court_handover_ending_on_the_first_saturday_of_the_tet_break_moves_past_it(
    vn: WorkingCalendar,
) -> None:
    deadline = compute_deadline("court_handover", date(2026, 1, 15), vn)
    assert (deadline.nominal_due, deadline.due) == (date(2026, 2, 14), date(2026, 2, 23))


def test_notification_issued_the_friday_before_tet_2026_is_due_on_25_february(vn: WorkingCalendar) -> None:
    deadline = compute_deadline("notification", date(2026, 2, 13), vn)
    assert deadline.due == deadline.nominal_due == date(2026, 2, 25)


def test_enforcement_decision_across_the_30_april_1_may_2026_cluster(vn: WorkingCalendar) -> None:
    assert compute_deadline("enforcement_decision", date(2026, 4, 23), vn).due == date(2026, 5, 5)


def test_verification_ending_on_30_april_2026_moves_to_monday_4_may(vn: WorkingCalendar) -> None:
    assert compute_deadline("verification", date(2026, 4, 20), vn).due == date(2026, 5, 4)


def test_re_verification_clamps_to_the_month_end(vn: WorkingCalendar) -> None:
    deadline = compute_deadline("re_verification", date(2026, 3, 31), vn)
    assert deadline.due == deadline.nominal_due == date(2026, 9, 30)


def test_re_verification_clamped_onto_a_saturday_moves_to_monday(vn: WorkingCalendar) -> None:
    deadline = compute_deadline("re_verification", date(2025, 8, 31), vn)
    assert (deadline.nominal_due, deadline.due) == (date(2026, 2, 28), date(2026, 3, 2))


def test_a_weekend_end_moves_to_monday_and_days_left_counts_to_it(vn: WorkingCalendar) -> None:
    deadline = compute_deadline("voluntary_period", date(2025, 6, 4), vn)
    assert (deadline.nominal_due, deadline.due) == (date(2025, 6, 14), date(2025, 6, 16))
    assert deadline.days_left(date(2025, 6, 10)) == 6
    assert deadline.days_left(date(2025, 6, 16)) == 0
    assert deadline.days_left(date(2025, 6, 17)) == -1


def test_the_five_year_limit_from_29_february_ends_on_28_february(vn: WorkingCalendar) -> None:
    deadline = compute_deadline("enforcement_request_limit", date(2020, 2, 29), vn)
    assert deadline.due == date(2025, 2, 28)


def test_the_five_year_limit_into_a_year_without_data_is_refused_naming_the_last_day(
    vn: WorkingCalendar,
) -> None:
    with pytest.raises(InvalidValue) as caught:
        compute_deadline("enforcement_request_limit", date(2025, 1, 10), vn)
    assert (caught.value.code, caught.value.rule) == ("DATE_INVALID", "calendar_year_unknown")
    assert caught.value.extra["nominal_due"] == "2030-01-10"
    assert "2030-01-10" in caught.value.detail


def test_an_unknown_rule_is_refused(vn: WorkingCalendar) -> None:
    with pytest.raises(InvalidValue) as caught:
        compute_deadline("appeal_period", date(2026, 3, 2), vn)
    assert (caught.value.code, caught.value.rule) == ("REQUEST_INVALID", "deadline_rule_unknown")


def test_a_period_starting_under_the_new_law_is_computed_but_marked_open(vn: WorkingCalendar) -> None:
    before = compute_deadline("voluntary_period", date(2026, 6, 30), vn)
    after = compute_deadline("voluntary_period", date(2026, 7, 1), vn)
    assert (before.status, after.status) == ("confirmed", "open")


def test_a_deadline_over_estimated_holiday_data_says_so(vn: WorkingCalendar) -> None:
    assert compute_deadline("notification", date(2026, 12, 30), vn).calendar_status == "open"
    assert compute_deadline("notification", date(2026, 12, 1), vn).calendar_status == "confirmed"


RULE = """
[[rule]]
id = "appeal_protest"
term_vi = "Kháng nghị"
description = "Example rule of a deployment."
start_event = "decision_received"
amount = 15
unit = "calendar_days"
basis = "Example"
status = "open"
"""


def test_a_deployment_can_supply_its_own_rules(tmp_path: Path, vn: WorkingCalendar) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(RULE, encoding="utf-8")
    rules = load_rules(path)
    deadline = compute_deadline("appeal_protest", date(2026, 3, 2), vn, rules=rules)
    assert deadline.due == date(2026, 3, 17)
    assert deadline.status == "open"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        (RULE.replace('"calendar_days"', '"fortnights"'), "rule.0.unit"),
        (RULE.replace("amount = 15", "amount = 0"), "rule.0.amount"),
        (RULE.replace('"appeal_protest"', '"Appeal Protest"'), "rule.0.id"),
        (RULE.replace('basis = "Example"', 'basis = "Example"\nbasis_url = "x"'), "rule.0.basis_url"),
        (RULE + RULE, "defined more than once: appeal_protest"),
        ("", "rule: Field required"),
    ],
)
def test_a_broken_rules_file_is_refused_at_load_saying_where(
    tmp_path: Path, text: str, complaint: str,
) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidValue) as caught:
        load_rules(path)
    assert (caught.value.code, caught.value.rule) == ("REQUEST_INVALID", "deadline_rules_invalid")
    assert complaint in caught.value.detail
