"""`thads-hub sandbox`: start every mock agency in one process and point the hub at them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.agencies import AgencyAuth, AgencyConfig, write_agencies
from hub.agency_ids import SANDBOX_BANK_BINS


def sandbox_agencies_config(base_url: str, key_dir: Path, *, population_client_id: str,
                            population_client_secret: str, postal_api_key: str, postal_hmac_secret: str,
                            bank_bins: tuple[str, ...] = SANDBOX_BANK_BINS) -> dict[str, AgencyConfig]:
    """The agencies file entries that point the hub at a sandbox listening on ``base_url``."""
    banks = {f"bank-{b}": AgencyConfig(protocol="soap", base_url=f"{base_url}/banks/{b}",
                                       wsdl=f"{base_url}/banks/{b}?wsdl", certificate=key_dir / f"bank-{b}.pem")
             for b in bank_bins}
    return {
        "court": AgencyConfig(protocol="soap", base_url=f"{base_url}/court", wsdl=f"{base_url}/court?wsdl",
                              certificate=key_dir / "court.pem"),
        "procuracy": AgencyConfig(protocol="rest", base_url=f"{base_url}/procuracy",
                                  openapi=f"{base_url}/procuracy/contracts/openapi.json",
                                  certificate=key_dir / "procuracy.pem"),
        **banks,
        "population": AgencyConfig(
            protocol="rest", base_url=f"{base_url}/population",
            openapi=f"{base_url}/population/contracts/openapi.json", certificate=key_dir / "population.pem",
            auth=AgencyAuth(kind="oauth2_client_credentials", token_url=f"{base_url}/population/oauth/token",
                            client_id=population_client_id, client_secret=population_client_secret)),
        "land": AgencyConfig(protocol="soap", base_url=f"{base_url}/land", wsdl=f"{base_url}/land?wsdl",
                             certificate=key_dir / "land.pem"),
        "postal": AgencyConfig(protocol="rest", base_url=f"{base_url}/postal",
                               openapi=f"{base_url}/postal/contracts/openapi.json",
                               certificate=key_dir / "postal.pem",
                               auth=AgencyAuth(kind="api_key", api_key=postal_api_key, hmac_secret=postal_hmac_secret)),
    }


def sandbox(host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
            port: Annotated[int, typer.Option(help="TCP port (Conventions: 8100).")] = 8100,
            seed: Annotated[int, typer.Option(help="Seed of the synthetic world: same seed, same data.")] = 2026,
            citizens: Annotated[int, typer.Option(help="Number of synthetic citizens.")] = 10_000,
            faults: Annotated[Path | None, typer.Option(help="TOML of start-up faults, one table per agency "
                                                        "id (e.g. [population] latency_ms = 200).")] = None,
            hub_url: Annotated[str, typer.Option(help="Where the sandbox pushes events.")] = "http://127.0.0.1:8000",
            write_config: Annotated[bool, typer.Option(help="Write THADS_AGENCIES_FILE pointing the hub at "
                                                       "this sandbox.")] = True) -> None:
    """Start the mock agencies (population + VNeID, land registry, postal, courts, procuracy, banks per BIN)
    under their Conventions prefixes, print each base URL and contract location, and write the agencies file
    for the hub."""
    import uvicorn

    from hub.agency_ids import sandbox_agencies
    from hub.settings import get_settings
    from hub.trust.pki_init import init_pki
    from sandbox_mocks.app import contract_url, create_sandbox_app
    from sandbox_mocks.config import SandboxConfig, load_faults

    settings = get_settings()
    init_pki(settings.keys, sandbox_agencies())  # idempotent: keys are made once
    config = SandboxConfig(host=host, port=port, seed=seed, citizens=citizens, key_dir=settings.keys,
                           hub_url=hub_url, faults=load_faults(faults) if faults else {})
    app = create_sandbox_app(config)
    typer.echo(f"sandbox on {config.base_url} (seed {seed}, {citizens} citizens)")
    for agency in app.state.agencies.values():
        typer.echo(f"  {agency.agency_id:<11} {config.base_url}{agency.prefix:<12} contract: "
                   f"{contract_url(agency, config.base_url)}")
    if write_config:
        write_agencies(settings.agencies, sandbox_agencies_config(
            config.base_url, settings.keys, population_client_id=config.population_client_id,
            population_client_secret=config.population_client_secret, postal_api_key=config.postal_api_key,
            postal_hmac_secret=config.postal_hmac_secret, bank_bins=config.bank_bins))
        typer.echo(f"agencies file written: {settings.agencies}")
    uvicorn.run(app, host=host, port=port, log_level="warning")


PUSH_KINDS = ("judgments", "transfers", "actions")


def sandbox_push(kind: Annotated[str, typer.Argument(help="judgments (a court's SubmitJudgment over SOAP), "
                                                     "transfers (a bank's incoming-transfer events) or actions "
                                                     "(the procuracy's protests and recommendations).")],
                 to: Annotated[str, typer.Option(help="Receiver URL (default: the hub's inbound path).")] = "",
                 hub_url: Annotated[str, typer.Option(help="The hub, when --to is not given.")] = "http://127.0.0.1:8000",
                 rate: Annotated[float, typer.Option(help="Messages per second offered.")] = 5.0,
                 count: Annotated[int, typer.Option(help="Distinct messages to send.")] = 20,
                 repeat_share: Annotated[float, typer.Option(help="Share of messages sent twice, byte-identical "
                                                             "(0..1).")] = 0.0,
                 bank: Annotated[str, typer.Option(help="BIN of the bank sending transfers.")] = "970436",
                 seed: Annotated[int, typer.Option(help="Seed of the synthetic world.")] = 2026,
                 citizens: Annotated[int, typer.Option(help="Size of the synthetic world.")] = 10_000) -> None:
    """Play an agency that calls the hub: send signed messages at a chosen rate with a chosen share of
    repeats, and report what the receiver acknowledged (JSON summary on stdout)."""
    import asyncio
    import json

    from hub.settings import get_settings
    from sandbox_mocks.bank import DEFAULT_OFFICE_ACCOUNT, EVENTS_PATH, transfer_push_items
    from sandbox_mocks.bank import xml_sender as bank_sender
    from sandbox_mocks.court.pusher import judgment_push_items, soap_sender
    from sandbox_mocks.framework.pusher import push
    from sandbox_mocks.procuracy.pusher import action_push_items
    from sandbox_mocks.procuracy.pusher import xml_sender as procuracy_sender
    from sandbox_mocks.seed.world import build_world

    if kind not in PUSH_KINDS:
        raise typer.BadParameter(f"kind must be one of {', '.join(PUSH_KINDS)}")
    if not 0 <= repeat_share <= 1 or rate <= 0 or count < 1:
        raise typer.BadParameter("need rate > 0, count >= 1 and 0 <= repeat-share <= 1")
    key_dir = get_settings().keys
    world = build_world(seed=seed, citizens=citizens)
    base = hub_url.rstrip("/")
    if kind == "judgments":
        items, (send, close) = judgment_push_items(world, key_dir, count=count), soap_sender(to or f"{base}/soap/court")
    elif kind == "transfers":
        items = transfer_push_items(world, key_dir, bank, count=count, office_account=DEFAULT_OFFICE_ACCOUNT)
        send, close = bank_sender(to or base + EVENTS_PATH.format(bin=bank))
    else:
        items, (send, close) = action_push_items(world, key_dir, count=count), procuracy_sender(
            to or f"{base}/v1/inbound/procuracy")

    async def run() -> dict[str, object]:
        try:
            report = await push(items, send, rate_per_s=rate, repeat_share=repeat_share, seed=seed)
        finally:
            await close()
        return report.summary()

    typer.echo(json.dumps(asyncio.run(run()), ensure_ascii=False, indent=2))
