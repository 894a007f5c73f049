"""The demo's timeline on the terminal: each step as it ends, what the step saw, and what the witnesses
(the mocks' recorders, the message log) counted during it."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from hub.demo.story import StepResult

_STYLE = {"ok": "bold green", "failed": "bold red", "skipped": "yellow"}


def _mock_line(figures: dict[str, Any]) -> str | None:
    mocks = figures.get("mocks", {})
    parts = []
    for agency, ops in sorted(mocks.get("received", {}).items()):
        parts.append(f"{agency} received " + ", ".join(f"{n}× {op}" for op, n in sorted(ops.items())))
    for agency, kinds in sorted(mocks.get("effects", {}).items()):
        parts.append(f"{agency} did " + ", ".join(f"{n}× {kind}" for kind, n in sorted(kinds.items())))
    return "; ".join(parts) if parts else None


def _log_line(figures: dict[str, Any]) -> str | None:
    rows = figures.get("message_log", [])
    if not rows:
        return None
    total = sum(r["count"] for r in rows)
    listed = ", ".join(f"{r['count']}× {r['direction']} {r['agency']} {r['operation']} {r['outcome']}" for r in rows)
    return f"+{total} exchanges: {listed}"


class Timeline:
    def __init__(self, console: Console) -> None:
        self.console = console

    def step(self, result: StepResult) -> None:
        c = self.console
        style = _STYLE.get(result.status, "")
        c.print(f"\n[bold]{result.number}.[/] [bold]{result.title}[/]  [{style}]{result.status}[/] "
                f"[dim]{result.seconds:.1f} s[/]")
        for line in result.lines:
            c.print(f"   {line}", markup=False)
        if result.reason:
            c.print(f"   [{style}]{'why' if result.status == 'skipped' else 'failed'}:[/] ", end="")
            c.print(result.reason, markup=False)
        if mocks := _mock_line(result.figures):
            c.print("   [cyan]mocks:[/] ", end="")
            c.print(mocks, markup=False)
        if logged := _log_line(result.figures):
            c.print("   [cyan]message log:[/] ", end="")
            c.print(logged, markup=False)

    def ending(self, results: list[StepResult], hub: str, sandbox: str, *, serving: bool) -> None:
        table = Table("step", "status", "seconds", title="the story", title_justify="left")
        for r in results:
            table.add_row(f"{r.number}. {r.key}", f"[{_STYLE.get(r.status, '')}]{r.status}[/]", f"{r.seconds:.1f}")
        self.console.print()
        self.console.print(table)
        if serving:
            self.console.print(f"\nserving: hub API {hub}/docs   operations {hub}/ops   metrics {hub}/metrics   "
                               f"sandbox {sandbox}/   (Ctrl-C stops everything)")
