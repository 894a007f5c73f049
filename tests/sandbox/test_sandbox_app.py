"""The whole sandbox as `thads-hub sandbox` serves it: one process, the Conventions' prefixes, one world."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from lxml import etree

from adapters import soap_envelope
from adapters.envelope import EnvelopeFields, EnvelopeSigner, EnvelopeVerifier, build_envelope
from adapters.trust_store import TrustStore
from hub.agencies import load_agencies, write_agencies
from hub.sandbox_cli import sandbox_agencies_config
from sandbox_mocks.app import create_sandbox_app
from sandbox_mocks.config import SandboxConfig
from sandbox_mocks.seed.world import build_world
from tests.conftest import ServedApp
from tests.sandbox.test_population_mock import LOOKUP, HubSide, make_key_dir

LAND_NS = "urn:vn:gov:tnmt:dangkydatdai:1"


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_key_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def sandbox(key_dir: Path) -> Iterator[ServedApp]:
    config = SandboxConfig(key_dir=key_dir, seed=11, citizens=600)
    with ServedApp(create_sandbox_app(config, build_world(seed=11, citizens=600))) as served:
        yield served


def _land_lookup(base: str, key_dir: Path, person_id: str) -> etree._Element:
    now = dt.datetime.now(dt.UTC)
    header = EnvelopeFields(message_id=str(uuid.uuid4()), from_agency="hub", to_agency="land", service="land",
                            operation="TraCuuThuaDatTheoChuSoHuu", created=now, expires=now + dt.timedelta(minutes=5),
                            case_ref="THADS-01-2026-1", officer="Lê Văn Tám", purpose="Xác minh tài sản")
    body = etree.Element(f"{{{LAND_NS}}}TraCuuThuaDatTheoChuSoHuu", nsmap={"dd": LAND_NS})
    etree.SubElement(body, f"{{{LAND_NS}}}SoDinhDanh").text = person_id
    signed = EnvelopeSigner.from_key_dir(key_dir, "hub").sign(build_envelope(header, body))
    # POST to the WSDL's address itself: no redirect to follow.
    answer = httpx.post(base + "/land", content=soap_envelope.wrap(signed),
                        headers={"content-type": soap_envelope.CONTENT_TYPE}, timeout=10)
    assert answer.status_code == 200, answer.text
    verified = EnvelopeVerifier(TrustStore.load(key_dir)).verify(etree.tostring(soap_envelope.unwrap(answer.content)))
    assert verified.signer == "land"
    return verified.body


def test_index_lists_every_agency_and_its_contract(sandbox: ServedApp) -> None:
    index = httpx.get(sandbox.url + "/").json()
    assert index["sample_citizens"]["with_parcels_and_accounts"]
    assert set(index["agencies"]) == {"population", "land", "postal", "court", "procuracy", "bank-970436",
                                      "bank-970418", "bank-970405"}
    for agency, facts in index["agencies"].items():
        contract = facts["contract"].replace("http://127.0.0.1:8100", sandbox.url)
        assert httpx.get(contract).status_code == 200, agency


def test_the_same_citizen_is_the_same_in_population_and_land(sandbox: ServedApp, key_dir: Path) -> None:
    world = build_world(seed=11, citizens=600)
    owner = next(c for c in world.citizens if world.parcels_of(c.person_id))
    hub = HubSide(sandbox.url, key_dir)
    try:
        person = hub.post(LOOKUP, {"SoDinhDanh": owner.person_id}, "TraCuuCongDan")
        assert person.status_code == 200, person.text
        assert hub.verify(person).signer == "population"
        record = person.json()["CongDan"]
        assert (record["SoDinhDanh"], record["HoVaTen"]) == (owner.person_id, owner.full_name)
    finally:
        hub.close()
    parcels = _land_lookup(sandbox.url, key_dir, owner.person_id)
    serials = {el.text.replace(" ", "") for el in parcels.iter(f"{{{LAND_NS}}}SoPhatHanhGCN")}
    assert serials == {p.certificate_serial.replace(" ", "") for p in world.parcels_of(owner.person_id)}


def test_the_agencies_file_points_the_hub_at_the_sandbox(tmp_path: Path, key_dir: Path) -> None:
    path = tmp_path / "agencies.toml"
    write_agencies(path, sandbox_agencies_config("http://127.0.0.1:8100", key_dir, population_client_id="thads-hub",
                                                 population_client_secret="s", postal_api_key="k",
                                                 postal_hmac_secret="h"))
    agencies = load_agencies(path)
    assert agencies["land"].wsdl == "http://127.0.0.1:8100/land?wsdl"
    assert agencies["population"].auth.kind == "oauth2_client_credentials"
    assert all(cfg.certificate and cfg.certificate.exists() for cfg in agencies.values())


def test_sandbox_push_cli_delivers_at_the_rate_with_repeats(hub_env: object) -> None:
    # FastAPI resolves the endpoint's annotations from the module, so Request/Response are imported there.
    from typer.testing import CliRunner

    from hub.cli import app as cli

    received: list[bytes] = []
    receiver = FastAPI()

    @receiver.post("/v1/inbound/procuracy")
    async def inbound(request: Request) -> Response:
        body = await request.body()
        duplicate = body in received
        received.append(body)
        return Response(status_code=409 if duplicate else 202)

    runner = CliRunner()
    assert runner.invoke(cli, ["pki", "init"]).exit_code == 0
    with ServedApp(receiver) as served:
        result = runner.invoke(cli, ["sandbox-push", "actions", "--hub-url", served.url, "--count", "12",
                                     "--rate", "20",
                                     "--repeat-share", "0.5", "--citizens", "600", "--seed", "11"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["originals"] == 12 and summary["acknowledged"] == 12, json.dumps(summary)
    assert summary["repeats"] >= 1 and summary["not_acknowledged"] == {"HTTP 409": summary["repeats"]}
    assert len(received) == summary["sent"]
