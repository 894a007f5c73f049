"""`thads-hub audit ...`: seal and verify the message log."""

from __future__ import annotations

import json
from typing import Annotated

import typer

audit_app = typer.Typer(help="The tamper-evident message log.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report.")] = False
                 ) -> None:
    """Check every partition's hash chain and every signed checkpoint. Exit 0 when intact; exit 1 naming
    each entry or checkpoint that was edited, deleted, reordered or truncated."""
    from adapters.trust_store import TrustStore
    from hub.audit.verify import verify_log
    from hub.settings import get_settings
    from hub.store.database import Database

    settings = get_settings()
    report = verify_log(Database(settings.database_url), TrustStore.load(settings.keys))
    if as_json:
        typer.echo(json.dumps({"intact": report.intact, "partitions": report.partitions, "entries": report.entries,
                               "checkpoints": report.checkpoints,
                               "findings": [{"where": f.where, "problem": f.problem} for f in report.findings]}))
    else:
        typer.echo(f"{report.entries} entries in {report.partitions} partitions, {report.checkpoints} checkpoints")
        for finding in report.findings:
            typer.echo(f"TAMPERED {finding}", err=True)
        typer.echo("intact" if report.intact else f"NOT INTACT: {len(report.findings)} finding(s)")
    raise typer.Exit(0 if report.intact else 1)


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Seal the current head of every partition with a checkpoint signed by the hub's key."""
    from hub.audit.wiring import message_log
    from hub.settings import get_settings
    from hub.trust.keys import hub_signing_key

    settings = get_settings()
    key, cert = hub_signing_key(settings)
    cid = message_log(settings).checkpoint(key, cert)
    typer.echo(f"checkpoint {cid} written")
