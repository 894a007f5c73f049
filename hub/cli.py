"""The `thads-hub` command line."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from adapters.refusal import Refusal
from hub.errors import REGISTRY, registry_markdown

if TYPE_CHECKING:
    from hub.store.database import Database

app = typer.Typer(help="thads-hub: the interoperability hub of Vietnam's civil judgment enforcement "
                  "system. Configuration comes from THADS_* environment variables (see README).",
                  no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="The SQL store: migrations.", no_args_is_help=True)
clients_app = typer.Typer(help="API clients and their bearer keys.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(clients_app, name="clients")

out = Console()
err = Console(stderr=True)


@contextmanager
def refusals() -> Iterator[None]:
    """Typed errors end the command with their registry code, not a traceback."""
    try:
        yield
    except Refusal as exc:
        err.print(f"[bold red]error {exc.code}[/]: {exc.detail}", highlight=False)
        raise typer.Exit(2) from None


def _db() -> Database:
    from hub.settings import get_settings
    from hub.store.database import Database

    return Database(get_settings().database_url)


@app.command()
def serve(host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
          port: Annotated[int, typer.Option(help="TCP port (Conventions: 8000).")] = 8000,
          workers: Annotated[int, typer.Option(min=1, help="API processes sharing the port (uvicorn workers). The "
                                               "API keeps no state in the process, so each one serves any request; "
                                               "give THADS_LOG_PARTITIONS at least this many.")] = 1,
          log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info") -> None:
    """Run the hub's HTTP API. On the embedded SQLite default the schema is migrated first; a
    PostgreSQL deployment migrates explicitly with `thads-hub db upgrade`."""
    import uvicorn

    from hub.api.app import create_app
    from hub.logs import uvicorn_log_config
    from hub.settings import get_settings
    from hub.store.migrate import upgrade

    with refusals():
        settings = get_settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if settings.database_url.startswith("sqlite"):
            upgrade(settings.database_url)
        out.print(f"thads-hub on http://{host}:{port}  (docs: /docs, database: "
                  f"{settings.database_url.split('://', 1)[0]}, redis: {settings.redis_url}"
                  f"{f', {workers} processes' if workers > 1 else ''})", highlight=False)
        if workers == 1:
            uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level,
                        log_config=uvicorn_log_config(log_level))  # JSON lines (hub/logs.py)
            return
        _share_metrics(settings.data_dir)
        # Each process builds its own app from the same THADS_* environment (create_app reads the settings).
        uvicorn.run("hub.api.app:create_app", factory=True, workers=workers, host=host, port=port,
                    log_level=log_level, log_config=uvicorn_log_config(log_level))


def _share_metrics(data_dir: Path) -> None:
    """Several API processes: /metrics must sum them all, whichever process the scrape reaches."""
    import os
    import shutil

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return  # the operator shares one directory with the workers already
    metrics_dir = data_dir / "metrics-api"
    shutil.rmtree(metrics_dir, ignore_errors=True)  # counts of an earlier run's processes would be summed in
    metrics_dir.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir.resolve())


@app.command()
def schema(output: Annotated[Path | None, typer.Option("--output", "-o",
                                                       help="Write to this file instead of stdout.")] = None
           ) -> None:
    """Print the JSON Schema of the canonical case model (the same as GET /v1/schema/canonical.json)."""
    from hub.model.schema import canonical_json_schema

    text = json.dumps(canonical_json_schema(), ensure_ascii=False, indent=2)
    if output:
        output.write_text(text + "\n", encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")


@app.command()
def errors(markdown: Annotated[bool, typer.Option("--markdown", help="Print docs/errors.md.")] = False
           ) -> None:
    """List the error registry: each code, its HTTP status and meaning."""
    if markdown:
        sys.stdout.write(registry_markdown())
        return
    table = Table("code", "status", "meaning")
    for p in REGISTRY.values():
        table.add_row(p.code, str(p.status), p.description)
    out.print(table)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations to THADS_DATABASE_URL (default: the SQLite file in the data dir)."""
    from hub.settings import get_settings
    from hub.store.migrate import upgrade

    with refusals():
        settings = get_settings()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(settings.database_url, revision)
        out.print(f"database at revision {revision}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's current revision and the newest one this hub knows."""
    from hub.store.migrate import current_revision, head_revision

    with refusals():
        out.print(f"current: {current_revision(_db())}  head: {head_revision()}")


ScopesOption = Annotated[list[str], typer.Option("--scopes", "-s", help="Scopes to grant: repeat the option or "
                                                  "separate with commas.")]


def _flat(scopes: list[str]) -> list[str]:
    return [s.strip() for group in scopes for s in group.split(",") if s.strip()]


@clients_app.command("add")
def clients_add(name: Annotated[str, typer.Argument(help="Client name, e.g. case-system-hcm.")],
                scopes: ScopesOption) -> None:
    """Create an API client. Its key is printed once and stored only as a hash."""
    from hub.clients import add_client

    with refusals():
        client, key = add_client(_db(), name, _flat(scopes))
    err.print(f"client [bold]{client.name}[/] created with scopes {', '.join(client.scopes)}; "
              "the key below is shown only now:", highlight=False)
    sys.stdout.write(key + "\n")


@clients_app.command("list")
def clients_list() -> None:
    """List API clients (never their keys)."""
    from hub.clients import list_clients

    with refusals():
        found = list_clients(_db())
    table = Table("name", "scopes", "created", "state")
    for c in found:
        table.add_row(c.name, ", ".join(c.scopes), c.created_at.isoformat(timespec="seconds"),
                      "active" if c.active else f"revoked {c.revoked_at:%Y-%m-%d %H:%M}")
    out.print(table)


@clients_app.command("grant")
def clients_grant(name: Annotated[str, typer.Argument(help="Client to grant more scopes to.")],
                  scopes: ScopesOption) -> None:
    """Add scopes to an active client; its key stays the same, and its next request may use them."""
    from hub.clients import grant_scopes

    with refusals():
        client = grant_scopes(_db(), name, _flat(scopes))
    out.print(f"client {client.name} now holds {', '.join(client.scopes)}")


@clients_app.command("revoke")
def clients_revoke(name: Annotated[str, typer.Argument(help="Client to revoke.")]) -> None:
    """Revoke a client's key; its next request is refused with KEY_REVOKED."""
    from hub.clients import revoke_client

    with refusals():
        client = revoke_client(_db(), name)
    out.print(f"client {client.name} revoked at {client.revoked_at:%Y-%m-%d %H:%M:%S}")


@clients_app.command("scopes")
def clients_scopes() -> None:
    """List the scopes that can be granted."""
    from hub.scopes import SCOPES

    table = Table("scope", "grants")
    for scope, meaning in SCOPES.items():
        table.add_row(scope, meaning)
    out.print(table)


def _mount_subcommands() -> None:
    from hub.agencies_cli import agencies
    from hub.audit.cli import audit_app
    from hub.batches.cli import verify_batch
    from hub.deadlines.cli import deadlines_app
    from hub.demo.cli import demo
    from hub.sandbox_cli import sandbox, sandbox_push
    from hub.trust.cli import pki_app, sign, verify
    from hub.worker.cli import mount_worker_commands

    app.add_typer(deadlines_app, name="deadlines", help="Legal deadlines and the working-day calendar.")
    app.add_typer(pki_app, name="pki")
    app.add_typer(audit_app, name="audit")
    app.command("sign")(sign)
    app.command("verify")(verify)
    app.command("sandbox")(sandbox)
    app.command("sandbox-push")(sandbox_push)
    app.command("agencies")(agencies)
    app.command("verify-batch")(verify_batch)
    app.command("demo")(demo)
    mount_worker_commands(app)


_mount_subcommands()
