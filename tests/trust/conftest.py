"""A sandbox PKI for the trust tests, plus the bad certificates an attacker or an accident brings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from lxml import etree

from adapters.envelope import EnvelopeFields, EnvelopeSigner, EnvelopeVerifier
from adapters.pki import PrivateKey, issue, load_cert, load_key, root_ca, write_cert
from adapters.trust_store import TrustStore
from hub.agency_ids import sandbox_agencies
from hub.trust.pki_init import init_pki

JUDGMENT_NS = "urn:example:court:judgment:1"


@dataclass
class Pki:
    key_dir: Path
    expired: EnvelopeSigner
    not_yet_valid: EnvelopeSigner
    untrusted: EnvelopeSigner
    revoked: EnvelopeSigner
    unpinned: EnvelopeSigner
    rotated: EnvelopeSigner

    def signer(self, agency: str) -> EnvelopeSigner:
        return EnvelopeSigner.from_key_dir(self.key_dir, agency)

    def trust(self) -> TrustStore:
        return TrustStore.load(self.key_dir)

    def verifier(self) -> EnvelopeVerifier:
        return EnvelopeVerifier(self.trust())


def _signer(key: PrivateKey, cert: x509.Certificate) -> EnvelopeSigner:
    return EnvelopeSigner(key, cert)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    key_dir = tmp_path_factory.mktemp("pki")
    init_pki(key_dir, sandbox_agencies())
    ca_key, ca_cert = load_key(key_dir / "ca.key"), load_cert(key_dir / "ca.pem")
    now = dt.datetime.now(dt.UTC)

    def pinned(agency: str, name: str, **kw: object) -> EnvelopeSigner:
        key, cert = issue(ca_key, ca_cert, agency, **kw)  # type: ignore[arg-type]
        write_cert(key_dir / "trust" / agency / f"{name}.pem", cert)
        return _signer(key, cert)

    expired = pinned("court", "expired", not_before=now - dt.timedelta(days=30), days=10)
    not_yet = pinned("court", "future", not_before=now + dt.timedelta(days=2), days=10)
    revoked = pinned("court", "revoked")
    (key_dir / "revoked.txt").write_text(f"# revoked after a key leak\n{revoked.cert.serial_number:x}\n")
    rotated = pinned("court", "next", key_type="ec")  # the court's next key, during the overlap
    unpinned = _signer(*issue(ca_key, ca_cert, "court"))
    rogue_key, rogue_ca = root_ca("Rogue Root CA")
    untrusted = _signer(*issue(rogue_key, rogue_ca, "court"))
    return Pki(key_dir=key_dir, expired=expired, not_yet_valid=not_yet, untrusted=untrusted, revoked=revoked,
               unpinned=unpinned, rotated=rotated)


def judgment_document(doc_id: str | None = None) -> etree._Element:
    doc = etree.Element(f"{{{JUDGMENT_NS}}}BanAn", nsmap={"ba": JUDGMENT_NS})
    if doc_id:
        doc.set("Id", doc_id)
    etree.SubElement(doc, f"{{{JUDGMENT_NS}}}SoBanAn").text = "12/2024/DS-ST"
    etree.SubElement(doc, f"{{{JUDGMENT_NS}}}HoVaTen").text = "Nguyễn Văn Hoà"
    etree.SubElement(doc, f"{{{JUDGMENT_NS}}}SoTien").text = "350000000"
    return doc


def header(from_agency: str = "court", **kw: object) -> EnvelopeFields:
    now = dt.datetime.now(dt.UTC)
    values: dict[str, object] = {"message_id": "msg-0001", "from_agency": from_agency, "to_agency": "hub",
                                 "service": "judgments", "operation": "SubmitJudgment", "created": now,
                                 "expires": now + dt.timedelta(minutes=10), "case_ref": "THADS-82-2024-0001",
                                 "officer": "Lê Văn Tám", "purpose": "Thụ lý bản án"}
    values.update(kw)
    return EnvelopeFields(**values)  # type: ignore[arg-type]
