"""The ``deadlines`` sub-app as an operator uses it."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from hub.deadlines.cli import deadlines_app

runner = CliRunner()


def test_list_shows_every_rule() -> None:
    result = runner.invoke(deadlines_app, ["list"])
    assert result.exit_code == 0, result.output
    for rule_id in ("court_handover", "enforcement_decision", "notification", "voluntary_period",
                    "verification", "re_verification", "enforcement_request_limit"):
        assert rule_id in result.stdout


def test_compute_accepts_a_vietnamese_date_and_prints_due_date_and_basis() -> None:
    result = runner.invoke(deadlines_app, ["compute", "voluntary_period", "07/02/2026"])
    assert result.exit_code == 0, result.output
    assert "due:    2026-02-23 (Mon 23/02/2026)" in result.stdout
    assert "Tết Nguyên đán" in result.stdout
    assert "art. 45(1)" in result.stdout


def test_compute_accepts_an_iso_date() -> None:
    result = runner.invoke(deadlines_app, ["compute", "enforcement_decision", "2026-04-23"])
    assert result.exit_code == 0, result.output
    assert "2026-05-05" in result.stdout


def test_compute_with_a_deployment_calendar(tmp_path: Path) -> None:
    path = tmp_path / "calendar.toml"
    path.write_text(
        'weekend = ["saturday", "sunday"]\n[[year]]\nyear = 2026\nstatus = "confirmed"\n'
        'days_off = [{ date = 2026-03-12, name = "Provincial holiday" }]\n',
        encoding="utf-8",
    )
    result = runner.invoke(deadlines_app, ["compute", "voluntary_period", "02/03/2026",
                                           "--holidays", str(path)])
    assert result.exit_code == 0, result.output
    assert "Provincial holiday" in result.stdout
    assert "due:    2026-03-13" in result.stdout


def test_a_bad_date_exits_non_zero_with_its_code() -> None:
    result = runner.invoke(deadlines_app, ["compute", "voluntary_period", "30/02/2026"])
    assert result.exit_code == 1
    assert result.stderr.startswith("DATE_INVALID [date_format]:")


def test_an_unknown_rule_exits_non_zero_with_its_code() -> None:
    result = runner.invoke(deadlines_app, ["compute", "appeal_period", "2026-03-02"])
    assert result.exit_code == 1
    assert "REQUEST_INVALID [deadline_rule_unknown]" in result.stderr


def test_a_year_without_holiday_data_exits_non_zero_with_its_code() -> None:
    result = runner.invoke(deadlines_app, ["compute", "enforcement_request_limit", "2025-01-10"])
    assert result.exit_code == 1
    assert "DATE_INVALID [calendar_year_unknown]" in result.stderr


def test_a_broken_calendar_file_exits_non_zero_with_its_code(tmp_path: Path) -> None:
    path = tmp_path / "calendar.toml"
    path.write_text("weekend = [", encoding="utf-8")
    result = runner.invoke(deadlines_app, ["compute", "voluntary_period", "2026-03-02",
                                           "--holidays", str(path)])
    assert result.exit_code == 1
    assert "REQUEST_INVALID [calendar_file_invalid]" in result.stderr
