"""adapters.xml_hardened: the one parser for XML from outside, against a corpus of hostile documents."""

from __future__ import annotations

import re
import socket
import tomllib
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from adapters import xml_hardened, xsd
from adapters.refusal import Refusal
from adapters.xml_hardened import DEFAULT_LIMITS, PARSER_OPTIONS, XmlLimits, clean_text, parse_xml
from hub.errors import REGISTRY
from tests.xml.conftest import Listener

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "xml"
MANIFEST: dict[str, dict[str, Any]] = tomllib.loads((CORPUS / "expected.toml").read_text(encoding="utf-8"))


def refusal_of(data: bytes, limits: XmlLimits = DEFAULT_LIMITS) -> Refusal:
    with pytest.raises(Refusal) as caught:
        parse_xml(data, limits)
    return caught.value


def nested(depth: int) -> bytes:
    return b"<r>" + b"<a>" * (depth - 1) + b"</a>" * (depth - 1) + b"</r>"


def flat(elements: int, tail: bytes = b"") -> bytes:
    return b"<r>" + b"<a/>" * (elements - 1) + b"</r>" + tail


def test_codes_are_registered_with_their_statuses() -> None:
    # Adapters cannot import the registry, so they name codes as strings: check them here.
    sources = "".join(Path(module.__file__ or "").read_text() for module in (xml_hardened, xsd))
    used = set(re.findall(r'code="([A-Z_]+)"', sources))
    assert used == {"XML_MALFORMED", "XML_FORBIDDEN_CONSTRUCT", "XML_TOO_LARGE", "SCHEMA_INVALID"}
    assert {code: REGISTRY[code].status for code in used} == {
        "XML_MALFORMED": 400, "XML_FORBIDDEN_CONSTRUCT": 400, "XML_TOO_LARGE": 413, "SCHEMA_INVALID": 422}


# --- the corpus ---------------------------------------------------------------------------------


def test_manifest_and_corpus_directory_agree() -> None:
    files = {path.name for path in CORPUS.iterdir() if path.name != "expected.toml"}
    assert files == set(MANIFEST)
    for name, expected in MANIFEST.items():
        assert expected.get("parses") is True or {"code", "rule"} <= expected.keys(), name
        assert (CORPUS / name).stat().st_size < 100_000, f"{name}: generate large cases in the tests"


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_corpus(name: str) -> None:
    expected = MANIFEST[name]
    data = (CORPUS / name).read_bytes()
    if expected.get("parses"):
        root = parse_xml(data)
        assert etree.QName(root).localname == "judgment"
        return
    refusal = refusal_of(data)
    assert (refusal.code, refusal.rule) == (expected["code"], expected["rule"])
    if "line" in expected:
        assert refusal.extra["line"] == expected["line"]
    assert refusal.code in REGISTRY


# --- limits -------------------------------------------------------------------------------------


def test_oversized_is_refused_before_parsing() -> None:
    # Not even XML: the size check comes first, so no parser ever sees the bytes.
    data = b"\x00" * (DEFAULT_LIMITS.max_bytes + 1)
    refusal = refusal_of(data)
    assert (refusal.code, refusal.rule) == ("XML_TOO_LARGE", "max_bytes")
    assert refusal.extra == {"limit": DEFAULT_LIMITS.max_bytes, "size": DEFAULT_LIMITS.max_bytes + 1}


def test_exactly_max_bytes_is_accepted() -> None:
    limits = XmlLimits(max_bytes=1000)
    data = b"<r>" + b" " * (1000 - len(b"<r></r>")) + b"</r>"
    assert len(data) == 1000
    assert parse_xml(data, limits).tag == "r"
    assert refusal_of(data + b" ", limits).rule == "max_bytes"


def test_too_deep() -> None:
    refusal = refusal_of(nested(DEFAULT_LIMITS.max_depth + 1))
    assert (refusal.code, refusal.rule) == ("XML_TOO_LARGE", "max_depth")
    assert parse_xml(nested(DEFAULT_LIMITS.max_depth)).tag == "r"


def test_deeper_than_libxml2_allows_is_still_a_depth_refusal() -> None:
    # libxml2 stops at 256 levels with a syntax error; that is a size problem, not a malformed document.
    for limits in (DEFAULT_LIMITS, XmlLimits(max_depth=10_000)):
        refusal = refusal_of(nested(300), limits)
        assert (refusal.code, refusal.rule) == ("XML_TOO_LARGE", "max_depth")


def test_too_many_elements() -> None:
    refusal = refusal_of(flat(DEFAULT_LIMITS.max_elements + 1))
    assert (refusal.code, refusal.rule) == ("XML_TOO_LARGE", "max_elements")
    assert len(parse_xml(flat(DEFAULT_LIMITS.max_elements))) == DEFAULT_LIMITS.max_elements - 1


def test_element_limit_stops_the_stream_before_the_end_of_the_document() -> None:
    # The tail is not well-formed: refusing for the count rather than for the tail shows the parser
    # stopped when the limit was crossed instead of reading (and building) everything first.
    data = flat(DEFAULT_LIMITS.max_elements * 3, tail=b"<<not xml")
    assert len(data) < DEFAULT_LIMITS.max_bytes
    assert refusal_of(data).rule == "max_elements"


def test_too_many_attributes_and_namespace_declarations() -> None:
    limits = XmlLimits(max_attributes_per_element=8)
    attributes = b" ".join(b'a%d="v"' % i for i in range(9))
    declarations = b" ".join(b'xmlns:p%d="urn:p:%d"' % (i, i) for i in range(9))
    for element in (b"<r><x " + attributes + b"/></r>", b"<r><x " + declarations + b"/></r>"):
        refusal = refusal_of(element, limits)
        assert (refusal.code, refusal.rule) == ("XML_TOO_LARGE", "max_attributes_per_element")
    assert parse_xml(b"<r " + b" ".join(b'a%d="v"' % i for i in range(8)) + b"/>", limits).tag == "r"


def test_custom_limits_apply() -> None:
    limits = XmlLimits(max_depth=3, max_elements=5)
    assert refusal_of(nested(4), limits).rule == "max_depth"
    assert refusal_of(flat(6), limits).rule == "max_elements"
    assert parse_xml(flat(5), limits).tag == "r"


@pytest.mark.parametrize("field", ["max_bytes", "max_depth", "max_elements", "max_attributes_per_element"])
def test_limits_must_be_positive(field: str) -> None:
    with pytest.raises(ValueError, match=field):
        XmlLimits(**{field: 0})


def test_overlong_name_hits_a_libxml2_limit() -> None:
    refusal = refusal_of(b"<" + b"a" * 60_000 + b"/>")
    assert (refusal.code, refusal.rule) == ("XML_TOO_LARGE", "parser_limit")


# --- constructs and encodings -------------------------------------------------------------------


def test_processing_instruction_after_the_root_is_refused() -> None:
    refusal = refusal_of(b"<r/>\n<?evil x?>")
    assert (refusal.rule, refusal.extra["target"]) == ("processing_instruction", "evil")


def test_xml_declaration_and_comments_are_accepted() -> None:
    root = parse_xml(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><!-- c --><r><!-- d --></r><!-- e -->')
    assert root.tag == "r"


def test_predefined_entities_and_character_references_are_expanded() -> None:
    root = parse_xml(b"<r a='&quot;&#65;'>&lt;&amp;&gt;&apos;&#x1EA0;</r>")
    assert (root.get("a"), root.text) == ('"A', "<&>'\u1ea0")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"])
def test_the_document_declares_its_encoding(encoding: str) -> None:
    name = encoding.upper().removesuffix("-SIG").replace("-LE", "").replace("-BE", "")
    text = f'<?xml version="1.0" encoding="{name}"?><r>Nguyễn Thị Ánh</r>'
    if encoding in ("utf-16-le", "utf-16-be"):
        text = "\ufeff" + text
    assert parse_xml(text.encode(encoding)).text == "Nguyễn Thị Ánh"


def test_undeclared_entity_in_a_later_chunk_is_an_entity_refusal() -> None:
    # lxml's feed parser tolerates this error and restarts mid-document on the next chunk; the
    # parser must not be fooled into reporting garbage (or accepting) there.
    data = b"<r>" + b"<a/>" * 20_000 + b"&xxe;" + b"<a/>" * 20_000 + b"</r>"
    refusal = refusal_of(data)
    assert (refusal.code, refusal.rule) == ("XML_FORBIDDEN_CONSTRUCT", "entity")


def test_doctype_after_a_long_prolog_is_refused() -> None:
    data = b"<?xml version='1.0'?>" + b"<!--" + b"x" * 100_000 + b"-->" + b"<!DOCTYPE r [<!ENTITY a 'b'>]><r>&a;</r>"
    assert refusal_of(data).rule == "doctype"


def test_malformed_reports_line_and_sanitised_message() -> None:
    refusal = refusal_of(b"<r>\n<a>\n</b\x01></r>")
    assert (refusal.code, refusal.rule, refusal.extra["line"]) == ("XML_MALFORMED", "well_formed", 3)
    assert "\x01" not in refusal.detail


@pytest.mark.parametrize("data", [b"", b"   ", b"not xml", b"<r>", b"<r></r><r/>"])
def test_not_a_document(data: bytes) -> None:
    refusal = refusal_of(data)
    assert refusal.code == "XML_MALFORMED"
    assert refusal.extra["line"] >= 1


def test_only_bytes() -> None:
    with pytest.raises(TypeError):
        parse_xml("<r/>")  # type: ignore[arg-type]


def test_result_is_an_ordinary_tree_with_line_numbers() -> None:
    root = parse_xml(b"<r>\n  <a>1</a>\n  <b>2</b>\n</r>")
    assert [child.sourceline for child in root] == [2, 3]
    assert root.getroottree().docinfo.doctype == ""


def test_parser_options_are_the_hardened_ones() -> None:
    assert PARSER_OPTIONS["resolve_entities"] is False
    assert PARSER_OPTIONS["load_dtd"] is False
    assert PARSER_OPTIONS["no_network"] is True
    assert PARSER_OPTIONS["huge_tree"] is False
    assert PARSER_OPTIONS["recover"] is False
    with pytest.raises(TypeError):
        PARSER_OPTIONS["resolve_entities"] = True  # type: ignore[index]


def test_clean_text_strips_control_characters_and_bounds_length() -> None:
    assert clean_text("a\nb\x00c") == "a?b?c"
    assert clean_text("x" * 500).endswith("…")
    assert len(clean_text("x" * 500)) == 201


# --- nothing is read, nothing is fetched --------------------------------------------------------


class SpyResolver(etree.Resolver):
    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def resolve(self, system_url: str, public_id: str, context: object) -> None:
        self.asked.append(system_url)
        return None


def hostile_documents(file_url: str, http_url: str) -> list[bytes]:
    return [
        f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "{file_url}">]><r>&xxe;</r>'.encode(),
        f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "{file_url}">]><r a="&xxe;"/>'.encode(),
        f'<!DOCTYPE r SYSTEM "{file_url}"><r/>'.encode(),
        f'<!DOCTYPE r [<!ENTITY % dtd SYSTEM "{file_url}"> %dtd;]><r/>'.encode(),
        f'<!DOCTYPE r [<!ENTITY xxe SYSTEM "{http_url}/entity">]><r>&xxe;</r>'.encode(),
        f'<!DOCTYPE r SYSTEM "{http_url}/external.dtd"><r/>'.encode(),
        f'<!DOCTYPE r [<!ENTITY % dtd SYSTEM "{http_url}/parameter.dtd"> %dtd;]><r>&exfil;</r>'.encode(),
        f'<!DOCTYPE r PUBLIC "-//x//y" "{http_url}/public.dtd"><r/>'.encode(),
        f'<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="{file_url}" parse="text"/></r>'.encode(),
        f'<r xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="{http_url}/xi"/></r>'.encode(),
        f'<?xml-stylesheet type="text/xsl" href="{http_url}/steal.xsl"?><r/>'.encode(),
    ]


def harmless_documents(http_url: str) -> list[bytes]:
    # URLs in ordinary places are just text: they parse, and nothing is fetched.
    return [
        f'<r xmlns="{http_url}/ns" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        f' xsi:schemaLocation="{http_url}/ns {http_url}/schema.xsd"/>'.encode(),
        f'<r xml:base="{http_url}/"><a href="{http_url}/x"/></r>'.encode(),
    ]


def test_listener_trap_records_connections(listener: Listener) -> None:
    with socket.create_connection(("127.0.0.1", listener.port), timeout=2) as conn:
        conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
    assert listener.connections()  # so "no connection" below means something


def test_parse_xml_never_reads_a_file_or_opens_a_connection(secret_file: tuple[Path, str],
                                                            listener: Listener) -> None:
    path, secret = secret_file
    for data in hostile_documents(path.as_uri(), listener.url):
        refusal = refusal_of(data)
        assert refusal.code == "XML_FORBIDDEN_CONSTRUCT"
        assert secret not in f"{refusal.detail} {refusal.extra}"
    for data in harmless_documents(listener.url):
        assert secret not in etree.tostring(parse_xml(data)).decode()
    assert listener.connections() == []


def test_parser_options_alone_neither_read_nor_fetch(secret_file: tuple[Path, str], listener: Listener) -> None:
    """Defence in depth: even if the DOCTYPE refusal were bypassed, the parser settings load nothing."""
    path, secret = secret_file
    spy = SpyResolver()
    for data in hostile_documents(path.as_uri(), listener.url) + harmless_documents(listener.url):
        parser = etree.XMLParser(**PARSER_OPTIONS)
        parser.resolvers.add(spy)
        try:
            root = etree.fromstring(data, parser)
        except etree.XMLSyntaxError as error:
            assert secret not in str(error)
            continue
        assert secret not in etree.tostring(root).decode()
    # lxml routes every load libxml2 attempts through the parser's resolvers: none was attempted.
    assert spy.asked == []
    assert listener.connections() == []


@pytest.mark.parametrize("name", ["billion_laughs.xml", "billion_laughs_in_attribute.xml", "quadratic_blowup.xml"])
def test_parser_options_alone_contain_entity_expansion(name: str) -> None:
    """Defence in depth: without the DOCTYPE refusal, libxml2's amplification limit still holds."""
    data = (CORPUS / name).read_bytes()
    try:
        root = etree.fromstring(data, etree.XMLParser(**PARSER_OPTIONS))
    except etree.XMLSyntaxError:
        return
    assert len(etree.tostring(root)) < 10 * len(data)
