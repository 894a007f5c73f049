"""signxml with its tree copies made in memory (adapters.dsig_copies) signs and verifies exactly what stock
signxml does, never changes the caller's tree, and refuses what signxml's own copies refuse."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import pytest
import signxml
from lxml import etree
from signxml import CanonicalizationMethod, DigestAlgorithm, XMLSigner, XMLVerifier
from signxml.exceptions import InvalidDigest, InvalidInput

from adapters.dsig_copies import InMemorySigner, InMemoryVerifier
from adapters.envelope import DS, _expect_config, build_envelope
from adapters.xml_hardened import parse_xml
from tests.trust.conftest import Pki, header, judgment_document


def _signers(pki: Pki, agency: str) -> tuple[XMLSigner, XMLSigner]:
    method = pki.signer(agency)._signer.sign_alg
    kw = {"signature_algorithm": method, "digest_algorithm": DigestAlgorithm.SHA256,
          "c14n_algorithm": CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0}
    return XMLSigner(**kw), InMemorySigner(**kw)


def _envelope(agency: str = "court") -> etree._Element:
    return build_envelope(header(agency), judgment_document())


def test_the_signature_is_byte_for_byte_the_one_stock_signxml_makes(pki: Pki) -> None:
    # RSA PKCS#1 v1.5 is deterministic: same digest, same SignedInfo, same signature value.
    stock, in_memory = _signers(pki, "court")
    s = pki.signer("court")
    envelope = _envelope()  # one header: its MessageId and times are new on every build
    expected = etree.tostring(stock.sign(copy.deepcopy(envelope), key=s.key, cert=[s.cert]))
    assert etree.tostring(in_memory.sign(copy.deepcopy(envelope), key=s.key, cert=[s.cert])) == expected


@pytest.mark.parametrize("agency", ["court", "bank-970436"])
def test_stock_signxml_verifies_what_it_signs_and_it_verifies_what_stock_signs(pki: Pki, agency: str) -> None:
    stock, in_memory = _signers(pki, agency)
    s = pki.signer(agency)
    for signer, verifier in ((in_memory, XMLVerifier()), (stock, InMemoryVerifier())):
        root = parse_xml(etree.tostring(signer.sign(_envelope(agency), key=s.key, cert=[s.cert])))
        result = verifier.verify(root, x509_cert=s.cert, expect_config=_expect_config())
        again = XMLVerifier().verify(root, x509_cert=s.cert, expect_config=_expect_config())
        assert result.signed_data == again.signed_data
        assert etree.tostring(result.signed_xml) == etree.tostring(again.signed_xml)


def test_neither_signing_nor_verifying_changes_the_callers_tree(pki: Pki) -> None:
    _, in_memory = _signers(pki, "court")
    s = pki.signer("court")
    envelope = _envelope()
    before = etree.tostring(envelope)
    signed = in_memory.sign(envelope, key=s.key, cert=[s.cert])
    assert etree.tostring(envelope) == before and signed is not envelope
    root = parse_xml(etree.tostring(signed))
    before = etree.tostring(root)
    InMemoryVerifier().verify(root, x509_cert=s.cert, expect_config=_expect_config())
    assert etree.tostring(root) == before  # the signature is still there: the enveloped transform ran on a copy
    assert root[-1].tag == f"{{{DS}}}Signature"


def test_a_changed_document_fails_its_digest_as_with_stock_signxml(pki: Pki) -> None:
    s = pki.signer("court")
    root = parse_xml(s.sign_bytes(_envelope()))
    name = next(el for el in root.iter() if el.text == "Nguyễn Văn Hoà")
    name.text = "Nguyễn Văn Hoà " + "x"
    for verifier in (XMLVerifier(), InMemoryVerifier()):
        with pytest.raises(InvalidDigest):
            verifier.verify(copy.deepcopy(root), x509_cert=s.cert, expect_config=_expect_config())


def test_an_entity_reference_in_the_tree_is_refused_on_the_copy(pki: Pki) -> None:
    s = pki.signer("court")
    root = parse_xml(s.sign_bytes(_envelope()))
    root[0].append(etree.Entity("xxe"))  # no parser makes this here; a tree built in code could
    with pytest.raises(InvalidInput, match="Entities"):
        InMemoryVerifier().verify(root, x509_cert=s.cert, expect_config=_expect_config())


def test_what_stands_in_for_bytes_refuses_to_be_used_as_bytes() -> None:
    # Fails closed: a signxml that used _tostring's result itself would raise, not read a stale tree.
    node = InMemoryVerifier()._tostring(etree.fromstring(b"<a><b/></a>"))
    with pytest.raises((TypeError, ValueError)):
        etree.fromstring(node)
    for use in (bytes, str, bool, hash, len, lambda n: n == b"<a><b/></a>", lambda n: b"x" + n):
        with pytest.raises(TypeError):
            use(node)
    assert InMemoryVerifier()._tostring(etree.fromstring(b"<a/>"), method="c14n") == b"<a></a>"


def test_every_tostring_in_the_installed_signxml_feeds_a_fromstring() -> None:
    """What the subclasses rely on, read from the signxml release installed: a new release that used a
    serialised tree any other way fails here, before any signature is checked with it."""
    found = 0
    for source in Path(signxml.__file__).parent.rglob("*.py"):
        tree = ast.parse(source.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "_tostring":
                found += 1
                parent = parents[node]
                assert (isinstance(parent, ast.Call) and isinstance(parent.func, ast.Attribute)
                        and parent.func.attr == "_fromstring" and parent.args == [node]), \
                    f"{source.name}:{node.lineno} uses _tostring's result as bytes"
    assert found >= 4


def test_the_signed_copy_has_no_tail(pki: Pki) -> None:
    s = pki.signer("court")
    envelope = _envelope()
    envelope.tail = "text after the root"
    signed = s.sign_bytes(envelope)
    assert parse_xml(signed).tail is None and signed.rstrip().endswith(b"</env:Envelope>")


@pytest.mark.parametrize("agency", ["court", "bank-970436"])
def test_the_hubs_signer_with_its_key_info_built_once_writes_what_stock_signxml_writes(pki: Pki, agency: str) -> None:
    stock, _ = _signers(pki, agency)
    s = pki.signer(agency)
    envelope = _envelope(agency)
    expected = stock.sign(copy.deepcopy(envelope), key=s.key, cert=[s.cert])
    first, second = s.sign(copy.deepcopy(envelope)), s.sign(copy.deepcopy(envelope))
    if s._signer.sign_alg.name.startswith("RSA"):  # RSA PKCS#1 v1.5 is deterministic, ECDSA is not
        assert etree.tostring(first) == etree.tostring(second) == etree.tostring(expected)
    key_info = [etree.tostring(t.find(f"{{{DS}}}Signature/{{{DS}}}KeyInfo")) for t in (first, second, expected)]
    assert key_info[0] == key_info[1] == key_info[2]  # each signature has its own copy, all alike
    for signed in (first, second):
        XMLVerifier().verify(signed, x509_cert=s.cert, expect_config=_expect_config())
