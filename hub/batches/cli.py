"""`thads-hub verify-batch FILE`: upload a re-verification batch to a running hub, follow it, save the results."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from hub.model.verification import VerificationScope

err = Console(stderr=True)


def _fail(response: httpx.Response) -> None:
    try:
        problem: dict[str, Any] = response.json()
    except ValueError:
        problem = {"title": response.text[:200]}
    err.print(f"[red]{response.status_code} {problem.get('title', '')}[/red]: {problem.get('detail', '')}")
    for line in problem.get("errors", [])[:20]:
        err.print(f"  line {line['line']}: {line['code']}: {line['detail']}")
    raise typer.Exit(1)


def verify_batch(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                         help="Subjects, one per line: .csv (header person_id,case_ref,full_name,"
                                              "birth_date,birth_year,province_code) or JSON lines (.jsonl/.ndjson).")],
    officer: Annotated[str, typer.Option(help="The enforcement officer (chấp hành viên) asking.")],
    purpose: Annotated[str, typer.Option(help="Purpose and legal basis, e.g. 'Điều 44 Luật THADS: xác minh lại'.")],
    scope: Annotated[list[VerificationScope], typer.Option(help="What to verify; repeat for several.")],
    out: Annotated[Path | None, typer.Option(help="Where to save the results (JSON lines); "
                                             "default FILE.results.jsonl.")] = None,
    url: Annotated[str, typer.Option(envvar="THADS_HUB_URL", help="The hub's base URL.")] = "http://127.0.0.1:8000",
    api_key: Annotated[str, typer.Option(envvar="THADS_API_KEY", help="API key (from `thads-hub clients add`).",
                                         show_default=False)] = "",
    poll: Annotated[float, typer.Option(help="Seconds between progress checks.")] = 1.0,
) -> None:
    """Upload a batch of subjects for re-verification, show its progress with an ETA while `thads-hub worker`
    processes work through it within the agencies' quotas, then save the per-subject results."""
    if not api_key:
        err.print("[red]an API key is needed: --api-key or THADS_API_KEY[/red]")
        raise typer.Exit(2)
    kind = "text/csv" if file.suffix.lower() == ".csv" else "application/x-ndjson"
    headers = {"Authorization": f"Bearer {api_key}"}
    params = {"officer": officer, "purpose": purpose, "scopes": [s.value for s in scope]}
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=60) as http:
        accepted = http.post("/v1/verification-batches", params=params, content=file.read_bytes(),
                             headers={"Content-Type": kind})
        if accepted.status_code != 202:
            _fail(accepted)
        batch = accepted.json()
        err.print(f"batch [bold]{batch['id']}[/bold]: {batch['total']} subjects queued")
        columns = (TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
        with Progress(*columns, console=err) as progress:
            task = progress.add_task("verifying", total=batch["total"], rate="")
            while True:
                state = http.get(batch["status_url"])
                if state.status_code != 200:
                    _fail(state)
                s = state.json()
                rate = f"{s['subjects_per_second']:.1f}/s" if s.get("subjects_per_second") else ""
                progress.update(task, completed=s["done"], rate=rate)
                if s["status"] == "done":
                    break
                time.sleep(poll)
        results = http.get(batch["results_url"])
        if results.status_code != 200:
            _fail(results)
    target = out or file.with_name(file.name + ".results.jsonl")
    target.write_bytes(results.content)
    err.print(f"done: {s['done']} subjects, by completeness {s['completeness']}; results in {target}")


