"""`thads-hub pki init`, `thads-hub sign`, `thads-hub verify`: the signed envelope for testers."""

from __future__ import annotations

import datetime as dt
import sys
import uuid
from pathlib import Path
from typing import Annotated

import typer
from lxml import etree
from rich.console import Console

from hub.agency_ids import sandbox_agencies

out = Console()
err = Console(stderr=True)

pki_app = typer.Typer(help="The sandbox PKI: root CA, agency keys and certificates, trust store.",
                      no_args_is_help=True)

KeyDir = Annotated[Path | None, typer.Option("--dir", help="Key directory (default: THADS_KEY_DIR, "
                                             "else <data dir>/pki).")]


def _key_dir(given: Path | None) -> Path:
    from hub.settings import get_settings

    return given or get_settings().keys


@pki_app.command("init")
def pki_init(key_dir: KeyDir = None,
             bank: Annotated[list[str] | None, typer.Option("--bank", help="Bank BIN to create a key for "
                             "(repeatable; default: the sandbox banks 970436, 970418, 970405).")] = None) -> None:
    """Create the sandbox root CA and one key + certificate per agency (banks per BIN) and for the hub.
    Existing keys are kept; private keys are written mode 0600."""
    from hub.agency_ids import CORE_AGENCIES, bank_agency
    from hub.trust.pki_init import init_pki

    agencies = sandbox_agencies() if not bank else ["hub", *CORE_AGENCIES, *(bank_agency(b) for b in bank)]
    report = init_pki(_key_dir(key_dir), agencies)
    typer.echo(f"key directory {report.key_dir}: created {', '.join(report.created) or 'nothing'}; "
               f"kept {', '.join(report.kept) or 'nothing'}")


def sign(file: Annotated[Path, typer.Argument(help="The business document (XML) to wrap and sign.")],
         as_agency: Annotated[str, typer.Option("--as", help="Signing agency id (its key in the key dir).")],
         to: Annotated[str, typer.Option(help="Addressee agency id.")] = "hub",
         service: Annotated[str, typer.Option(help="Envelope Service.")] = "sandbox",
         operation: Annotated[str, typer.Option(help="Envelope Operation.")] = "Submit",
         case_ref: Annotated[str | None, typer.Option(help="CaseRef header.")] = None,
         officer: Annotated[str | None, typer.Option(help="Officer header.")] = None,
         purpose: Annotated[str | None, typer.Option(help="Purpose header.")] = None,
         ttl_minutes: Annotated[int, typer.Option(help="Minutes until Expires.")] = 15,
         key_dir: KeyDir = None) -> None:
    """Wrap FILE in a signed envelope as agency --as and print it to stdout."""
    from adapters.envelope import EnvelopeFields, EnvelopeSigner, build_envelope
    from adapters.refusal import Refusal
    from adapters.xml_hardened import parse_xml

    try:
        body = parse_xml(file.read_bytes())
        signer = EnvelopeSigner.from_key_dir(_key_dir(key_dir), as_agency)
    except Refusal as exc:
        err.print(f"error {exc.code}: {exc.detail}", highlight=False)
        raise typer.Exit(2) from None
    except FileNotFoundError as exc:
        err.print(f"error: {exc.filename} not found (run 'thads-hub pki init')", highlight=False)
        raise typer.Exit(2) from None
    now = dt.datetime.now(dt.UTC)
    header = EnvelopeFields(message_id=str(uuid.uuid4()), from_agency=as_agency, to_agency=to, service=service,
                            operation=operation, created=now, expires=now + dt.timedelta(minutes=ttl_minutes),
                            case_ref=case_ref, officer=officer, purpose=purpose)
    sys.stdout.buffer.write(signer.sign_bytes(build_envelope(header, body)))


def verify(file: Annotated[Path, typer.Argument(help="A signed envelope.")], key_dir: KeyDir = None) -> None:
    """Verify FILE against the trust store: exit 0 printing the signer and the signed content, or exit 2
    with the error code."""
    from adapters.envelope import EnvelopeVerifier
    from adapters.refusal import Refusal
    from adapters.trust_store import TrustStore
    from hub.settings import get_settings

    skew = dt.timedelta(seconds=get_settings().clock_skew_seconds)
    try:
        verified = EnvelopeVerifier(TrustStore.load(_key_dir(key_dir)), clock_skew=skew).verify(file.read_bytes())
    except Refusal as exc:
        rule = f" [{exc.rule}]" if exc.rule else ""
        err.print(f"error {exc.code}{rule}: {exc.detail}", highlight=False)
        raise typer.Exit(2) from None
    h = verified.header
    err.print(f"signed by {verified.signer} (certificate {verified.certificate_fingerprint[:16]}), "
              f"message {h.message_id}, {h.service}/{h.operation} to {h.to_agency}", highlight=False)
    sys.stdout.buffer.write(etree.tostring(verified.body, encoding="UTF-8") + b"\n")
