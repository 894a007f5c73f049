"""`thads-hub demo`: set up the embedded defaults, start the sandbox, the hub and a worker, tell the story,
then keep serving until Ctrl-C (or stop at once with --exit)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from hub.demo.children import ChildFailed, Children, thads_hub

out = Console(highlight=False, soft_wrap=True)  # piped to a file or CI, lines stay whole


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a TIME_WAIT is no obstacle
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def _redis_answers(url: str) -> bool:
    from adapters.redis_client import sync_client

    client = sync_client(url)
    try:
        return bool(client.ping())
    except Exception:  # any failure to reach it means the same thing here: no Redis
        return False
    finally:
        client.close()


def demo(
    exit_: Annotated[bool, typer.Option("--exit", help="Stop everything after the story (exit 1 if a step failed) "
                                        "instead of serving until Ctrl-C.")] = False,
    port: Annotated[int, typer.Option(help="The hub's port.")] = 8000,
    sandbox_port: Annotated[int, typer.Option(help="The sandbox agencies' port.")] = 8100,
    host: Annotated[str, typer.Option(help="Interface the hub and the sandbox bind.")] = "127.0.0.1",
    data_dir: Annotated[Path | None, typer.Option(help="Data dir (database, keys, agencies file, logs). "
                                                  "Default: THADS_DATA_DIR, else ./.thads.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the sandbox's synthetic world.")] = 2026,
    citizens: Annotated[int, typer.Option(help="Size of the sandbox's synthetic world.")] = 10_000,
    summary: Annotated[Path | None, typer.Option(help="Also write the story's figures as JSON to this file.")] = None,
    hold_for: Annotated[float | None, typer.Option(help="With the story told, keep serving this many seconds, "
                                                   "then stop as --exit does (for scripts and tests).")] = None,
) -> None:
    """Start the sandbox agencies, the hub and one worker on embedded defaults (SQLite in the data dir, local
    Redis), then run the whole story: a court's signed judgment taken in, the debtor verified with one bank
    slow, a notice that falls back to registered mail, an account freeze and a land restriction copied to the
    procuracy, the procuracy's recommendation, a transfer with its electronic receipt, the payout to the
    creditors, and the message log verified. Every figure printed is read back from the mocks' recorders
    and the hub's message log."""
    from hub.agency_ids import sandbox_agencies
    from hub.settings import get_settings
    from hub.store.migrate import upgrade
    from hub.trust.pki_init import init_pki

    if data_dir is not None:
        os.environ["THADS_DATA_DIR"] = str(data_dir.resolve())
    get_settings.cache_clear()
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    for what, p in (("--port", port), ("--sandbox-port", sandbox_port)):
        if not _port_free(host, p):
            out.print(f"[red]port {p} is in use[/]: stop what holds it or choose another with {what}")
            raise typer.Exit(2)
    if not _redis_answers(settings.redis_url):
        out.print(f"[red]Redis does not answer at {settings.redis_url}[/] (THADS_REDIS_URL): the worker needs it")
        raise typer.Exit(2)

    upgrade(settings.database_url)
    pki = init_pki(settings.keys, sandbox_agencies())
    out.print(f"database migrated ({settings.database_url.split('://', 1)[0]}), keys in {settings.keys} "
              f"({len(pki.created)} made, {len(pki.kept)} kept)")
    metrics_dir = settings.data_dir / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)  # counts of an earlier run's dead processes would be summed in
    metrics_dir.mkdir(parents=True)
    env = {**os.environ, "THADS_DATA_DIR": str(settings.data_dir.resolve()),
           "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir.resolve())}
    children = Children(env, settings.data_dir / "logs")
    children.install_cleanup()
    told: list[int] = []  # the story's exit code, once told: Ctrl-C while serving afterwards keeps it
    try:
        code = _run(children, settings.data_dir, told, host=host, port=port, sandbox_port=sandbox_port, seed=seed,
                    citizens=citizens, summary=summary, exit_=exit_, hold_for=hold_for)
    except (ChildFailed, LookupError) as exc:  # a child that would not start; a world with no story to tell
        out.print(str(exc), style="red", markup=False)
        code = 1
    except KeyboardInterrupt:
        out.print("stopping the sandbox, the hub and the worker...")
        code = told[0] if told else 130
    finally:
        children.stop_all()
    raise typer.Exit(code)


def _run(children: Children, data_dir: Path, told: list[int], *, host: str, port: int, sandbox_port: int, seed: int,
         citizens: int, summary: Path | None, exit_: bool, hold_for: float | None) -> int:
    from hub.demo.story import Story, start_story
    from hub.demo.timeline import Timeline

    hub_url, sandbox_url = f"http://{host}:{port}", f"http://{host}:{sandbox_port}"
    script = thads_hub()
    started = time.monotonic()
    sandbox = children.start("sandbox", [script, "sandbox", "--host", host, "--port", str(sandbox_port),
                                         "--hub-url", hub_url, "--seed", str(seed), "--citizens", str(citizens)])
    story: Story = start_story(hub_url, sandbox_url, seed=seed, citizens=citizens)  # builds the world meanwhile
    children.wait_http(sandbox, f"{sandbox_url}/", timeout_s=120)
    hub = children.start("hub", [script, "serve", "--host", host, "--port", str(port), "--log-level", "info"])
    consumer = f"demo-{os.getpid()}"
    worker = children.start("worker", [script, "worker", "--consumer", consumer, "--lease", "5", "--grace", "5",
                                       "--log-level", "warning"])
    children.wait_http(hub, f"{hub_url}/ready")
    children.wait_until(worker, lambda: story.worker_alive(consumer), timeout_s=60)
    out.print(f"sandbox, hub and worker ready in {time.monotonic() - started:.1f} s (logs in {children.log_dir})")

    timeline = Timeline(out)
    results = story.run(on_step=timeline.step)
    audit = results[-1].figures if results else {}
    ok = all(r.status != "failed" for r in results)
    report = {"ok": ok, "hub": hub_url, "sandbox": sandbox_url, "data_dir": str(data_dir.resolve()),
              "case_ref": story.case_ref, "case_id": story.case_id, "audit": audit,
              "children": {c.name: c.proc.pid for c in children.started if c.proc is not None},
              "steps": [r.as_json() for r in results]}
    if summary is not None:
        summary.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    timeline.ending(results, hub_url, sandbox_url, serving=not exit_ or bool(hold_for))
    code = 0 if ok else 1
    told.append(code)
    story.close()
    if exit_ and not hold_for:
        return code
    deadline = time.monotonic() + hold_for if hold_for else None
    while deadline is None or time.monotonic() < deadline:
        if dead := children.dead():
            out.print(f"[red]{dead[0].name} stopped[/]; its log ends:\n{dead[0].tail()}")
            return 1
        time.sleep(0.5)
    return code
