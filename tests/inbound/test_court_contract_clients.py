"""The court's side of SubmitJudgment as outside SOAP clients speak it: zeep loading the hub's own WSDL,
and a SOAP 1.1 client."""

from __future__ import annotations

import copy
from pathlib import Path

import httpx
import zeep
from lxml import etree

from adapters import soap_envelope
from adapters.envelope import NS as ENV_NS
from adapters.envelope import EnvelopeVerifier
from adapters.trust_store import TrustStore
from adapters.xml_hardened import parse_xml
from hub.store.database import Database
from hub.store.tables import intakes
from sandbox_mocks.court import judgment_push_items
from sandbox_mocks.seed.world import World
from tests.conftest import ServedApp
from tests.inbound.conftest import count
from tests.sandbox.test_land_mock import ZEEP_SETTINGS, PresignedEnvelope

BA = "urn:vn:gov:toaan:banan:1"


def test_zeep_loads_the_hubs_wsdl_and_pushes_a_judgment(hub: ServedApp, key_dir: Path, world: World,
                                                        db: Database) -> None:
    plugin = PresignedEnvelope()
    client = zeep.Client(f"{hub.url}/soap/court?wsdl", plugins=[plugin], settings=ZEEP_SETTINGS)
    service = client.bind("TiepNhanBanAnService", "TiepNhanBanAnSoap12")
    item = judgment_push_items(world, key_dir, count=1)[0]
    signed = soap_envelope.unwrap(item.body)
    plugin.signed = signed
    header = {etree.QName(e).localname: e.text for e in signed.find(f"{{{ENV_NS}}}Header")}
    body = {"_value_1": copy.deepcopy(signed.find(f"{{{ENV_NS}}}Body")[0])}
    result = service.SubmitJudgment(Header=header, Body=body)
    assert result.Header.From == "hub" and result.Header.CorrelationId == item.item_id
    receipt = result.Body._value_1
    assert (receipt.SoBanAn, receipt.TrangThai) == (world.judgments[0].number, "DA_TIEP_NHAN")
    assert count(db, intakes) == 1

    # a refusal reaches zeep as a SOAP Fault with the registry code as its subcode
    plugin.signed = etree.fromstring(etree.tostring(signed))
    plugin.signed.find(f".//{{{BA}}}SoBanAn").text = "1/2025/DS-ST"  # edited after the court signed it
    try:
        service.SubmitJudgment(Header=header, Body=body)
    except zeep.exceptions.Fault as fault:
        assert [str(c) for c in fault.subcodes] == ["{urn:thads:problem}SIGNATURE_INVALID"]
    else:
        raise AssertionError("a forged judgment was accepted")
    assert count(db, intakes) == 1


def test_the_wsdl_names_this_hub_and_its_schemas_are_served(hub: ServedApp) -> None:
    wsdl = httpx.get(f"{hub.url}/soap/court?wsdl")
    assert wsdl.status_code == 200 and b"SANDBOX_HUB_URL" not in wsdl.content
    assert f'location="{hub.url}/soap/court"'.encode() in wsdl.content
    assert httpx.get(f"{hub.url}/soap/court/contracts/court-judgments.xsd").status_code == 200
    assert httpx.get(f"{hub.url}/soap/court/contracts/..%2Fjudgment.py").status_code == 404
    assert httpx.get(f"{hub.url}/soap/court").status_code == 404


def soap11(payload: etree._Element) -> bytes:
    return soap_envelope.wrap_for("1.1", payload)


def test_a_soap_1_1_client_gets_soap_1_1_answers_and_faults(hub: ServedApp, key_dir: Path, world: World,
                                                            db: Database) -> None:
    item = judgment_push_items(world, key_dir, count=1, start=4)[0]
    signed = soap_envelope.unwrap(item.body)
    answer = httpx.post(f"{hub.url}/soap/court", content=soap11(signed), headers={"content-type": "text/xml"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/xml")
    version, inner = soap_envelope.unwrap_any(answer.content)
    assert version == "1.1"
    verified = EnvelopeVerifier(TrustStore.load(key_dir)).verify(etree.tostring(inner), expected_to="court")
    assert verified.body.findtext(f"{{{BA}}}TrangThai") == "DA_TIEP_NHAN"

    signed.find(f"{{{ENV_NS}}}Header/{{{ENV_NS}}}MessageId").text = "edited"
    refused = httpx.post(f"{hub.url}/soap/court", content=soap11(signed), headers={"content-type": "text/xml"})
    assert refused.status_code == 500
    fault = parse_xml(refused.content).find(f"{{{soap_envelope.SOAP11}}}Body/{{{soap_envelope.SOAP11}}}Fault")
    assert fault is not None and fault.findtext("faultcode") == "soap:Client"
    assert soap_envelope.fault11_to_refusal(fault).code == "SIGNATURE_INVALID"
    assert count(db, intakes) == 1
