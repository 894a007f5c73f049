"""``thads-hub deadlines``: list the legal deadline rules and compute one for a start date."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hub.deadlines.calendar import load_calendar
from hub.deadlines.rules import compute_deadline, load_rules
from hub.errors import HubError, InvalidValue

deadlines_app = typer.Typer(
    name="deadlines",
    help="Legal deadlines of civil judgment enforcement (rules are data; see rules.toml).",
    no_args_is_help=True,
)

_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_VIETNAMESE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")

RulesFile = Annotated[
    Path | None,
    typer.Option("--rules", help="A deployment's rules file instead of the packaged rules.toml."),
]


def parse_date(text: str) -> dt.date:
    """A date written YYYY-MM-DD or dd/MM/yyyy (the form on Vietnamese documents)."""
    text = text.strip()
    if match := _ISO.match(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _VIETNAMESE.match(text):
        day, month, year = (int(g) for g in match.groups())
    else:
        raise InvalidValue(f"{text!r} is not a date: write YYYY-MM-DD or dd/MM/yyyy",
                           code="DATE_INVALID", rule="date_format")
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise InvalidValue(f"{text!r} is not a calendar date", code="DATE_INVALID",
                           rule="date_format") from None


def _fail(exc: HubError) -> NoReturn:
    # The code first, so scripts can act on it without parsing the prose.
    rule = f" [{exc.rule}]" if exc.rule else ""
    typer.echo(f"{exc.code}{rule}: {exc.detail}", err=True)
    raise typer.Exit(code=1)


def _show(day: dt.date) -> str:
    return f"{day.isoformat()} ({day:%a} {day:%d/%m/%Y})"


@deadlines_app.command("list")
def list_rules(rules_file: RulesFile = None) -> None:
    """Show every deadline rule with its legal basis and how sure it is."""
    try:
        rules = load_rules(rules_file)
    except HubError as exc:
        _fail(exc)
    # One stacked cell per rule: side-by-side columns for the long basis and term are unreadable in
    # an 80-column terminal, which is what an operator on a server usually has.
    table = Table(title="Legal deadlines", show_lines=True)
    table.add_column("rule")
    table.add_column("period", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for rule in rules.values():
        cell = Text.assemble(
            (rule.id, "bold"), "\n", rule.term_vi, "\n",
            ("from: ", "dim"), rule.start_event, "\n", (rule.basis, "dim"),
        )
        table.add_row(cell, f"{rule.amount} {rule.unit.value}", rule.status)
    Console().print(table)


@deadlines_app.command("compute")
def compute(
    rule: Annotated[str, typer.Argument(help="Rule id, e.g. voluntary_period (see `list`).")],
    start_date: Annotated[str, typer.Argument(metavar="START_DATE",
                                              help="Date of the start event: YYYY-MM-DD or dd/MM/yyyy.")],
    holidays: Annotated[Path | None, typer.Option(
        "--holidays", envvar="THADS_HOLIDAYS_FILE",
        help="A deployment's holiday calendar instead of the packaged holidays_vn.toml.",
    )] = None,
    rules_file: RulesFile = None,
) -> None:
    """Compute the due date of RULE for a period that starts on START_DATE."""
    try:
        start = parse_date(start_date)
        calendar = load_calendar(holidays)
        rules = load_rules(rules_file)
        deadline = compute_deadline(rule, start, calendar, rules=rules)
    except HubError as exc:
        _fail(exc)
    spec = rules[deadline.rule_id]
    typer.echo(f"rule:   {spec.id} ({spec.term_vi})")
    typer.echo(f"start:  {_show(deadline.start)}, {spec.start_event}")
    typer.echo(f"period: {deadline.amount} {deadline.unit.value}")
    if deadline.moved:
        day_off = calendar.day_off(deadline.nominal_due)
        why = day_off.name if day_off else "a weekly rest day"
        typer.echo(f"last day {_show(deadline.nominal_due)} is not a working day ({why}): moved")
    typer.echo(f"due:    {_show(deadline.due)}")
    typer.echo(f"basis:  {deadline.basis}")
    typer.echo(f"status: rule {deadline.status}, holiday data {deadline.calendar_status}")
