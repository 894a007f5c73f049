"""`thads-hub sandbox`: start every mock agency in one process and point the hub at them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hub.agencies import AgencyAuth, AgencyConfig, write_agencies


def sandbox_agencies_config(base_url: str, key_dir: Path, *, population_client_id: str,
                            population_client_secret: str, postal_api_key: str,
                            postal_hmac_secret: str) -> dict[str, AgencyConfig]:
    """The agencies file entries that point the hub at a sandbox listening on ``base_url``."""
    return {
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
    """Start the mock agencies (population + VNeID, land registry, postal) under /population, /land, /postal,
    print each base URL and contract location, and write the agencies file for the hub."""
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
            postal_hmac_secret=config.postal_hmac_secret))
        typer.echo(f"agencies file written: {settings.agencies}")
    uvicorn.run(app, host=host, port=port, log_level="warning")
