"""Signed envelopes: every sandbox key signs and verifies; every wrapping or certificate trick is refused
with its own code, and what comes back is only what was signed."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable

import pytest
from lxml import etree

from adapters.envelope import DS, EXC_C14N, NS, EnvelopeVerifier, build_envelope, canonical_hash
from adapters.refusal import Refusal
from adapters.xml_hardened import parse_xml
from adapters.xsd import CompiledSchema
from hub.agency_ids import sandbox_agencies
from tests.trust.conftest import JUDGMENT_NS, Pki, header, judgment_document


def _signed(pki: Pki, agency: str = "court") -> bytes:
    return pki.signer(agency).sign_bytes(build_envelope(header(agency), judgment_document()))


@pytest.mark.parametrize("agency", sandbox_agencies())
def test_every_sandbox_key_signs_an_envelope_that_verifies(pki: Pki, agency: str) -> None:
    data = _signed(pki, agency)
    verified = pki.verifier().verify(data)
    assert verified.signer == agency and verified.header.from_agency == agency
    assert verified.header.officer == "Lê Văn Tám"
    assert verified.body.tag == f"{{{JUDGMENT_NS}}}BanAn"
    assert verified.body.findtext(f"{{{JUDGMENT_NS}}}HoVaTen") == "Nguyễn Văn Hoà"
    assert verified.payload_hash == canonical_hash(judgment_document())
    root = parse_xml(data)
    assert root[-1].tag == f"{{{DS}}}Signature"  # the Conventions: the signature is the last child
    method = root.find(f"{{{DS}}}Signature/{{{DS}}}SignedInfo/{{{DS}}}SignatureMethod").get("Algorithm")
    assert method.endswith("rsa-sha256" if agency in {"hub", "court", "procuracy", "land"} else "ecdsa-sha256")


def test_key_rotation_two_court_certificates_both_verify(pki: Pki) -> None:
    old = _signed(pki)
    new = pki.rotated.sign_bytes(build_envelope(header(), judgment_document()))
    v = pki.verifier()
    assert v.verify(old).certificate_fingerprint != v.verify(new).certificate_fingerprint


# --- tampering and wrapping: each mutation keeps the document schema-valid -------------------------

def _tree(data: bytes) -> etree._Element:
    return parse_xml(data)


def _bytes(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _sig(root: etree._Element) -> etree._Element:
    return root.find(f"{{{DS}}}Signature")


def _body_doc(root: etree._Element) -> etree._Element:
    return root.find(f"{{{NS}}}Body")[0]


def signature_moved_into_body(pki: Pki) -> bytes:
    root = _tree(_signed(pki))
    _body_doc(root).append(_sig(root))
    return _bytes(root)


def signature_duplicated(pki: Pki) -> bytes:
    root = _tree(_signed(pki))
    _body_doc(root).append(copy.deepcopy(_sig(root)))
    return _bytes(root)


def signed_envelope_wrapped_in_ds_object(pki: Pki) -> bytes:
    genuine = _tree(_signed(pki))
    forged = build_envelope(header(officer="Kẻ mạo danh"), judgment_document())
    sig = copy.deepcopy(_sig(genuine))
    obj = etree.SubElement(sig, f"{{{DS}}}Object")
    genuine.remove(_sig(genuine))
    obj.append(genuine)
    forged.append(sig)
    return _bytes(forged)


def id_collision(pki: Pki) -> bytes:
    # The court signs only its judgment (Id="doc"); the attacker adds a second element with the same Id
    # and swaps the content the application would read.
    env = build_envelope(header(), judgment_document("doc"))
    signed = pki.signer("court")._signer.sign(env, key=pki.signer("court").key, cert=[pki.signer("court").cert],
                                              reference_uri="#doc")
    evil = judgment_document("doc")
    evil.find(f"{{{JUDGMENT_NS}}}SoTien").text = "1"
    _body_doc(signed).find(f"{{{JUDGMENT_NS}}}HoVaTen").addprevious(evil)
    return _bytes(signed)


def unsigned_sibling_added(pki: Pki) -> bytes:
    root = _tree(_signed(pki))
    extra = etree.SubElement(_body_doc(root), f"{{{JUDGMENT_NS}}}SoTien")
    extra.text = "1"
    return _bytes(root)


def reference_to_another_element(pki: Pki) -> bytes:
    # Cryptographically valid, but it covers only the body: the header (officer, purpose) is unsigned.
    s = pki.signer("court")
    env = build_envelope(header(), judgment_document("doc"))
    signed = s._signer.sign(env, key=s.key, cert=[s.cert], reference_uri="#doc")
    signed.find(f"{{{NS}}}Header/{{{NS}}}Officer").text = "Kẻ mạo danh"
    return _bytes(signed)


def wrong_digest(pki: Pki) -> bytes:
    root = _tree(_signed(pki))
    _body_doc(root).find(f"{{{JUDGMENT_NS}}}SoTien").text = "1"
    return _bytes(root)


def header_edited(pki: Pki) -> bytes:
    root = _tree(_signed(pki))
    root.find(f"{{{NS}}}Header/{{{NS}}}Purpose").text = "Tò mò"
    return _bytes(root)


def stripped_signature(pki: Pki) -> bytes:
    root = _tree(_signed(pki))
    root.remove(_sig(root))
    return _bytes(root)


def two_certificates_in_key_info(pki: Pki) -> bytes:
    root = _tree(_signed(pki))
    data = root.find(f"{{{DS}}}Signature/{{{DS}}}KeyInfo/{{{DS}}}X509Data")
    data.append(copy.deepcopy(data[0]))
    return _bytes(root)


def inclusive_namespaces_on_the_reference(pki: Pki) -> bytes:
    # A PrefixList makes exclusive C14N render namespaces the envelope inherits from where it sits (a SOAP
    # message), so the digest would depend on more than the envelope. The XSD lets it through here.
    root = _tree(_signed(pki))
    transform = next(t for t in root.iter(f"{{{DS}}}Transform") if t.get("Algorithm") == EXC_C14N)
    etree.SubElement(transform, f"{{{EXC_C14N}}}InclusiveNamespaces", nsmap={"ec": EXC_C14N}, PrefixList="xs")
    return _bytes(root)


WRAPPING: list[tuple[Callable[[Pki], bytes], str]] = [
    (signature_moved_into_body, "signature_location"),
    (signature_duplicated, "signature_count"),
    (signed_envelope_wrapped_in_ds_object, "signature_object"),
    (id_collision, "reference_uri"),
    (unsigned_sibling_added, "cryptographic"),
    (reference_to_another_element, "reference_uri"),
    (wrong_digest, "cryptographic"),
    (header_edited, "cryptographic"),
    (stripped_signature, "signature_present"),
    (two_certificates_in_key_info, "key_info"),
    (inclusive_namespaces_on_the_reference, "transforms"),
]


@pytest.mark.parametrize(("attack", "rule"), WRAPPING, ids=[a.__name__ for a, _ in WRAPPING])
def test_wrapping_and_tampering_are_refused_by_the_signature_check(pki: Pki, attack: Callable[[Pki], bytes],
                                                                   rule: str) -> None:
    data = attack(pki)
    CompiledSchema.load(EnvelopeVerifier.__init__.__globals__["SCHEMA_PATH"]).validate(parse_xml(data))
    with pytest.raises(Refusal) as caught:
        pki.verifier().verify(data)
    assert (caught.value.code, caught.value.rule) == ("SIGNATURE_INVALID", rule)


def test_the_unmodified_document_passes_as_the_control(pki: Pki) -> None:
    assert pki.verifier().verify(_signed(pki)).signer == "court"


def _in_soap_body(data: bytes) -> bytes:
    """The envelope as a SOAP 1.2 message carries it: the one element of soap:Body, beside a soap:Header."""
    return (b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Header/><soap:Body>'
            + etree.tostring(parse_xml(data)) + b"</soap:Body></soap:Envelope>")


@pytest.mark.parametrize(("attack", "rule"), WRAPPING, ids=[a.__name__ for a, _ in WRAPPING])
def test_verify_tree_on_the_soap_body_element_refuses_what_verify_refuses(pki: Pki, attack: Callable[[Pki], bytes],
                                                                        rule: str) -> None:
    """The SOAP paths hand the verifier the element their hardened parse of the whole message found, instead
    of serialising it and parsing it again: the same attacks get the same refusals."""
    element = parse_xml(_in_soap_body(attack(pki)))[1][0]
    with pytest.raises(Refusal) as caught:
        pki.verifier().verify_tree(element)
    assert (caught.value.code, caught.value.rule) == ("SIGNATURE_INVALID", rule)


def test_verify_tree_on_the_soap_body_element_gives_what_verify_gives(pki: Pki) -> None:
    data = _signed(pki)
    alone, inside = pki.verifier().verify(data), pki.verifier().verify_tree(parse_xml(_in_soap_body(data))[1][0])
    assert (inside.header, inside.signer, inside.certificate_fingerprint, inside.payload_hash,
            inside.envelope_hash) == (alone.header, alone.signer, alone.certificate_fingerprint, alone.payload_hash,
                                      alone.envelope_hash)
    assert etree.tostring(inside.body, method="c14n") == etree.tostring(alone.body, method="c14n")


# --- certificates -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("which", "code", "rule"), [
    ("untrusted", "CERT_UNTRUSTED", "chain"),
    ("expired", "CERT_EXPIRED", "expired"),
    ("not_yet_valid", "CERT_EXPIRED", "not_yet_valid"),
    ("revoked", "CERT_REVOKED", "revocation_list"),
    ("unpinned", "CERT_UNTRUSTED", "not_pinned"),
])
def test_bad_certificates_are_refused_with_their_code(pki: Pki, which: str, code: str, rule: str) -> None:
    data = getattr(pki, which).sign_bytes(build_envelope(header(), judgment_document()))
    with pytest.raises(Refusal) as caught:
        pki.verifier().verify(data)
    assert (caught.value.code, caught.value.rule) == (code, rule)


def test_a_bank_certificate_on_a_court_document_is_the_wrong_agency(pki: Pki) -> None:
    data = pki.signer("bank-970436").sign_bytes(build_envelope(header("court"), judgment_document()))
    with pytest.raises(Refusal) as caught:
        pki.verifier().verify(data)
    assert caught.value.code == "CERT_WRONG_AGENCY"
    assert caught.value.extra == {"certificate_agency": "bank-970436", "claimed_agency": "court"}


def test_an_expired_message_window_is_refused(pki: Pki) -> None:
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    data = pki.signer("court").sign_bytes(
        build_envelope(header(created=old, expires=old + dt.timedelta(minutes=10)), judgment_document()))
    with pytest.raises(Refusal) as caught:
        pki.verifier().verify(data)
    assert (caught.value.code, caught.value.rule) == ("MESSAGE_EXPIRED", "expired")


def test_a_hostile_document_never_reaches_the_signature_code(pki: Pki) -> None:
    xxe = (b'<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<env:Envelope xmlns:env="urn:thads:envelope:1">&x;</env:Envelope>')
    with pytest.raises(Refusal) as caught:
        pki.verifier().verify(xxe)
    assert caught.value.code == "XML_FORBIDDEN_CONSTRUCT"
