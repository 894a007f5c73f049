"""Interoperability with an independent XML-DSig implementation: xmlsec1 (Debian's package, installed by
.ci/run). The hub's signatures verify there, and xmlsec1's signatures verify in the hub."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree

from adapters.envelope import DS, ENVELOPED, EXC_C14N, build_envelope
from tests.trust.conftest import JUDGMENT_NS, Pki, header, judgment_document

XMLSEC1 = shutil.which("xmlsec1")


def _xmlsec1() -> str:
    # Not a skip: CI installs xmlsec1, and a machine without it must fail loudly, not pass quietly.
    assert XMLSEC1, "xmlsec1 is not installed (Debian: apt-get install xmlsec1; scripts/test.sh installs it)"
    return XMLSEC1


@pytest.mark.parametrize("agency", ["hub", "population"])  # RSA-SHA256 and ECDSA-P256-SHA256
def test_hub_signatures_verify_in_xmlsec1(pki: Pki, agency: str, tmp_path: Path) -> None:
    signed = tmp_path / "signed.xml"
    signed.write_bytes(pki.signer(agency).sign_bytes(build_envelope(header(agency), judgment_document())))
    run = subprocess.run([_xmlsec1(), "--verify", "--trusted-pem", str(pki.key_dir / "ca.pem"), str(signed)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "OK" in run.stderr

    tampered = tmp_path / "tampered.xml"
    tampered.write_bytes(signed.read_bytes().replace(b"350000000", b"350000001"))
    run = subprocess.run([_xmlsec1(), "--verify", "--trusted-pem", str(pki.key_dir / "ca.pem"), str(tampered)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0


def _template(agency: str, method: str) -> bytes:
    env = build_envelope(header(agency), judgment_document())
    sig = etree.SubElement(env, f"{{{DS}}}Signature", nsmap={"ds": DS})
    info = etree.SubElement(sig, f"{{{DS}}}SignedInfo")
    etree.SubElement(info, f"{{{DS}}}CanonicalizationMethod", Algorithm=EXC_C14N)
    etree.SubElement(info, f"{{{DS}}}SignatureMethod", Algorithm=method)
    ref = etree.SubElement(info, f"{{{DS}}}Reference", URI="")
    transforms = etree.SubElement(ref, f"{{{DS}}}Transforms")
    etree.SubElement(transforms, f"{{{DS}}}Transform", Algorithm=ENVELOPED)
    etree.SubElement(transforms, f"{{{DS}}}Transform", Algorithm=EXC_C14N)
    etree.SubElement(ref, f"{{{DS}}}DigestMethod", Algorithm="http://www.w3.org/2001/04/xmlenc#sha256")
    etree.SubElement(ref, f"{{{DS}}}DigestValue")
    etree.SubElement(sig, f"{{{DS}}}SignatureValue")
    etree.SubElement(etree.SubElement(sig, f"{{{DS}}}KeyInfo"), f"{{{DS}}}X509Data")
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


@pytest.mark.parametrize(("agency", "method"), [
    ("court", "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"),
    ("bank-970436", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"),
])
def test_xmlsec1_signatures_verify_in_the_hub(pki: Pki, agency: str, method: str, tmp_path: Path) -> None:
    template = tmp_path / "template.xml"
    template.write_bytes(_template(agency, method))
    out = tmp_path / "signed.xml"
    key = f"{pki.key_dir / (agency + '.key')},{pki.key_dir / (agency + '.pem')}"
    run = subprocess.run([_xmlsec1(), "--sign", "--privkey-pem", key, "--output", str(out), str(template)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    verified = pki.verifier().verify(out.read_bytes())
    assert verified.signer == agency
    assert verified.body.findtext(f"{{{JUDGMENT_NS}}}SoBanAn") == "12/2024/DS-ST"
