"""The hostile corpus through both court routes: every document is refused with the trust layer's code,
answered with a hub-signed negative acknowledgment (in the SOAP Fault's detail, or as the detached JWS of
the problem), and nothing is stored."""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from collections.abc import Callable
from pathlib import Path

import httpx
from lxml import etree

from adapters import soap_envelope
from adapters.envelope import DS, NS, EnvelopeFields, EnvelopeSigner, EnvelopeVerifier, build_envelope, read_header
from adapters.jws_envelope import JwsVerifier
from adapters.pki import issue, load_cert, load_key, root_ca
from adapters.trust_store import TrustStore
from adapters.xml_hardened import parse_xml
from hub.store.database import Database
from hub.store.tables import enforcement_cases, inbound_messages, intakes, judgments, outbox, parties
from sandbox_mocks.court import judgment_push_items
from sandbox_mocks.court.document import judgment_document
from sandbox_mocks.seed.world import World
from tests.conftest import ServedApp
from tests.inbound.conftest import count

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "xml"
EXPECTED = tomllib.loads((CORPUS / "expected.toml").read_text())
HOSTILE = sorted(name for name, spec in EXPECTED.items() if not spec.get("parses"))
ACK = "urn:thads:ack:1"


def _envelope(world: World, key_dir: Path) -> etree._Element:
    item = judgment_push_items(world, key_dir, count=1, start=9)[0]
    return soap_envelope.unwrap(item.body)


def _resigned(world: World, key_dir: Path, signer: EnvelopeSigner, **changes: object) -> etree._Element:
    genuine = _envelope(world, key_dir)
    header = read_header(genuine)
    fields = {**header.__dict__, **changes}
    return signer.sign(build_envelope(EnvelopeFields(**fields), genuine.find(f"{{{NS}}}Body")[0]))


def wrong_digest(world: World, key_dir: Path) -> etree._Element:
    env = _envelope(world, key_dir)
    env.find(".//{urn:vn:gov:toaan:banan:1}NgayBanHanh").text = "01/01/2000"
    return env


def header_edited(world: World, key_dir: Path) -> etree._Element:
    env = _envelope(world, key_dir)
    env.find(f"{{{NS}}}Header/{{{NS}}}Created").text = "2026-01-01T00:00:00.000Z"
    return env


def stripped_signature(world: World, key_dir: Path) -> etree._Element:
    env = _envelope(world, key_dir)
    env.remove(env.find(f"{{{DS}}}Signature"))
    return env


def two_certificates(world: World, key_dir: Path) -> etree._Element:
    env = _envelope(world, key_dir)
    data = env.find(f"{{{DS}}}Signature/{{{DS}}}KeyInfo/{{{DS}}}X509Data")
    data.append(copy.deepcopy(data[0]))
    return env


def signature_moved_into_body(world: World, key_dir: Path) -> etree._Element:
    env = _envelope(world, key_dir)
    env.find(f"{{{NS}}}Body")[0].append(env.find(f"{{{DS}}}Signature"))
    return env


def unsigned_document_added(world: World, key_dir: Path) -> etree._Element:
    env = _envelope(world, key_dir)
    env.find(f"{{{NS}}}Body").append(judgment_document(world.judgments[1]))
    return env


def untrusted_certificate(world: World, key_dir: Path) -> etree._Element:
    rogue_key, rogue_ca = root_ca("Rogue Root CA")
    return _resigned(world, key_dir, EnvelopeSigner(*issue(rogue_key, rogue_ca, "court")))


def expired_certificate(world: World, key_dir: Path) -> etree._Element:
    now = dt.datetime.now(dt.UTC)
    key, cert = issue(load_key(key_dir / "ca.key"), load_cert(key_dir / "ca.pem"), "court",
                      not_before=now - dt.timedelta(days=30), days=10)
    return _resigned(world, key_dir, EnvelopeSigner(key, cert))


def bank_signs_as_court(world: World, key_dir: Path) -> etree._Element:
    return _resigned(world, key_dir, EnvelopeSigner.from_key_dir(key_dir, "bank-970436"))


def procuracy_sends_a_judgment(world: World, key_dir: Path) -> etree._Element:
    return _resigned(world, key_dir, EnvelopeSigner.from_key_dir(key_dir, "procuracy"), from_agency="procuracy")


def message_expired(world: World, key_dir: Path) -> etree._Element:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    return _resigned(world, key_dir, EnvelopeSigner.from_key_dir(key_dir, "court"), created=old,
                     expires=old + dt.timedelta(minutes=10))


def not_a_judgment(world: World, key_dir: Path) -> etree._Element:
    other = etree.Element("{urn:example:other}Document")
    etree.SubElement(other, "{urn:example:other}Text").text = "xin chào"
    genuine = _envelope(world, key_dir)
    return EnvelopeSigner.from_key_dir(key_dir, "court").sign(build_envelope(read_header(genuine), other))


ATTACKS: list[tuple[Callable[[World, Path], etree._Element], str]] = [
    (wrong_digest, "SIGNATURE_INVALID"), (header_edited, "SIGNATURE_INVALID"),
    (stripped_signature, "SIGNATURE_INVALID"), (two_certificates, "SIGNATURE_INVALID"),
    (signature_moved_into_body, "SCHEMA_INVALID"), (unsigned_document_added, "SCHEMA_INVALID"),
    (untrusted_certificate, "CERT_UNTRUSTED"), (expired_certificate, "CERT_EXPIRED"),
    (bank_signs_as_court, "CERT_WRONG_AGENCY"), (procuracy_sends_a_judgment, "CERT_WRONG_AGENCY"),
    (message_expired, "MESSAGE_EXPIRED"), (not_a_judgment, "SCHEMA_INVALID"),
]


def nothing_stored(db: Database) -> None:
    for table in (judgments, parties, intakes, enforcement_cases, inbound_messages, outbox):
        assert count(db, table) == 0, table.name


def soap_refusal(answer: httpx.Response, key_dir: Path) -> str:
    """The fault's registry code, after checking the signed negative acknowledgment in its detail."""
    fault = parse_xml(answer.content).find(f"{{{soap_envelope.SOAP12}}}Body/{{{soap_envelope.SOAP12}}}Fault")
    assert fault is not None, answer.content[:300]
    code = soap_envelope.fault_to_refusal(fault).code
    nack = fault.find(f"{{{soap_envelope.SOAP12}}}Detail/{{{NS}}}Envelope")
    verified = EnvelopeVerifier(TrustStore.load(key_dir)).verify(etree.tostring(nack))
    assert verified.signer == "hub"
    assert verified.body.findtext(f"{{{ACK}}}Status") == "refused"
    assert verified.body.findtext(f"{{{ACK}}}Code") == code
    return code


def rest_refusal(answer: httpx.Response, key_dir: Path) -> str:
    assert answer.headers["content-type"].startswith("application/problem+json")
    signed = JwsVerifier(TrustStore.load(key_dir)).verify(answer.headers["x-jws-signature"], answer.content)
    assert signed.signer == "hub" and signed.header.to_agency == "court"
    return str(answer.json()["code"])


def post_both(hub: ServedApp, soap_body: bytes, rest_body: bytes, key_dir: Path) -> tuple[str, str]:
    soap = httpx.post(f"{hub.url}/soap/court", content=soap_body,
                      headers={"content-type": soap_envelope.CONTENT_TYPE}, timeout=30)
    rest = httpx.post(f"{hub.url}/v1/inbound/judgments", content=rest_body,
                      headers={"content-type": "application/xml"}, timeout=30)
    return soap_refusal(soap, key_dir), rest_refusal(rest, key_dir)


def test_the_parser_corpus_is_refused_on_both_routes_with_its_code(hub: ServedApp, key_dir: Path,
                                                                    db: Database) -> None:
    for name in HOSTILE:
        data = (CORPUS / name).read_bytes()
        assert post_both(hub, data, data, key_dir) == (EXPECTED[name]["code"],) * 2, name
    nothing_stored(db)


def test_signed_envelope_attacks_are_refused_with_their_code(hub: ServedApp, key_dir: Path, world: World,
                                                             db: Database) -> None:
    # one served hub for all of them: a hub per attack would cost more than the attacks
    for attack, code in ATTACKS:
        env = attack(world, key_dir)
        assert post_both(hub, soap_envelope.wrap(env), etree.tostring(env), key_dir) == (code, code), attack.__name__
    nothing_stored(db)


def test_an_oversized_body_is_refused_before_it_is_read(hub: ServedApp, key_dir: Path, db: Database) -> None:
    huge = b"<a>" + b"x" * (5 * 1024 * 1024 + 10) + b"</a>"
    assert post_both(hub, huge, huge, key_dir) == ("XML_TOO_LARGE", "XML_TOO_LARGE")
    nothing_stored(db)
