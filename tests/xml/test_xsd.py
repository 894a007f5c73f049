"""adapters.xsd and the envelope schema: compiled once from local files, errors with line and path."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import signxml
from lxml import etree

from adapters.refusal import Refusal
from adapters.xml_hardened import PARSER_OPTIONS, parse_xml
from adapters.xsd import (
    ENVELOPE_XSD,
    MAX_REPORTED_ERRORS,
    SCHEMA_DIR,
    XMLDSIG_NS,
    XMLDSIG_XSD,
    CompiledSchema,
    SchemaLoadError,
)
from tests.xml.conftest import Listener

ENV_NS = "urn:thads:envelope:1"
JUDGMENT_NS = "urn:example:court:judgment:1"
SIGNXML_XMLDSIG = Path(str(signxml.__file__)).parent / "schemas" / "xmldsig-core-schema.xsd"

HEADER_ORDER = ("MessageId", "CorrelationId", "From", "To", "Service", "Operation", "Created", "Expires",
                "CaseRef", "Officer", "Purpose", "RequestHash")
REQUIRED = {"MessageId": "msg-7f3a9c", "From": "court", "To": "hub", "Service": "judgments",
            "Operation": "SubmitJudgment", "Created": "2025-03-01T08:00:00Z", "Expires": "2025-03-01T08:05:00Z"}
BODY = f'<j:Judgment xmlns:j="{JUDGMENT_NS}"><j:Number>12/2024/DS-ST</j:Number></j:Judgment>'

SIGNATURE = f"""<ds:Signature xmlns:ds="{XMLDSIG_NS}">
    <ds:SignedInfo>
      <ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
      <ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
      <ds:Reference URI="">
        <ds:Transforms>
          <ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
          <ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
        </ds:Transforms>
        <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
        <ds:DigestValue>3q2+7w==</ds:DigestValue>
      </ds:Reference>
    </ds:SignedInfo>
    <ds:SignatureValue>3q2+7w==</ds:SignatureValue>
  </ds:Signature>"""


def envelope(*, body: str = BODY, signature: str = "", prefix: str = "env", envelope_attrs: str = "",
             **fields: str | None) -> bytes:
    """An envelope with one header element per line (so error lines are predictable): line 3 holds
    the first header field. A field set to None is left out."""
    values: dict[str, str | None] = {**REQUIRED, **fields}
    p = f"{prefix}:" if prefix else ""
    xmlns = f'xmlns:{prefix}="{ENV_NS}"' if prefix else f'xmlns="{ENV_NS}"'
    lines = [f"<{p}Envelope {xmlns}{envelope_attrs}>", f"  <{p}Header>"]
    lines += [f"    <{p}{name}>{values[name]}</{p}{name}>" for name in HEADER_ORDER if values.get(name) is not None]
    lines += [f"  </{p}Header>", f"  <{p}Body>{body}</{p}Body>"]
    if signature:
        lines.append(f"  {signature}")
    lines.append(f"</{p}Envelope>")
    return "\n".join(lines).encode()


def line_of(data: bytes, needle: str) -> int:
    return next(n for n, line in enumerate(data.decode().splitlines(), 1) if needle in line)


@pytest.fixture(scope="module")
def schema() -> CompiledSchema:
    return CompiledSchema.load(ENVELOPE_XSD)


def invalid(schema: CompiledSchema, data: bytes) -> Refusal:
    with pytest.raises(Refusal) as caught:
        schema.validate(parse_xml(data))
    refusal = caught.value
    assert (refusal.code, refusal.rule) == ("SCHEMA_INVALID", "thads-envelope-1.xsd")
    return refusal


# --- the envelope schema ------------------------------------------------------------------------


def test_valid_envelope_without_signature(schema: CompiledSchema) -> None:
    schema.validate(parse_xml(envelope()))


def test_valid_envelope_with_every_field_and_a_signature(schema: CompiledSchema) -> None:
    schema.validate(parse_xml(envelope(
        CorrelationId="req-42", CaseRef="THA-2025-000123", Officer="can-bo-017",
        Purpose="Xác minh điều kiện thi hành án theo Điều 44 Luật Thi hành án dân sự",
        RequestHash="0123456789abcdef" * 4, To="bank-970436", Expires="2025-03-01T15:05:00+07:00",
        signature=SIGNATURE)))


@pytest.mark.parametrize("prefix", ["env", "", "x"])
def test_sender_prefixes_do_not_matter(schema: CompiledSchema, prefix: str) -> None:
    schema.validate(parse_xml(envelope(prefix=prefix)))
    refusal = invalid(schema, envelope(prefix=prefix, From="tòa-án"))
    # Paths use the schema's own prefixes, whatever the sender chose (libxml2 would write "*" for a
    # default namespace).
    assert refusal.extra["errors"][0]["path"] == "/env:Envelope/env:Header/env:From"


@pytest.mark.parametrize("agency", ["court", "hub", "procuracy", "population", "land", "postal", "bank-970436"])
def test_agency_ids(schema: CompiledSchema, agency: str) -> None:
    schema.validate(parse_xml(envelope(From=agency, To=agency)))


@pytest.mark.parametrize("agency", ["evil", "bank-97043", "bank-9704361", "BANK-970436", "Court", "bank-", "court hub"])
def test_wrong_from(schema: CompiledSchema, agency: str) -> None:
    data = envelope(From=agency)
    refusal = invalid(schema, data)
    first = refusal.extra["errors"][0]
    assert first["line"] == line_of(data, "From>") == 4
    assert first["path"] == "/env:Envelope/env:Header/env:From"
    assert first["path"] in refusal.detail and "line 4" in refusal.detail


def test_missing_created(schema: CompiledSchema) -> None:
    data = envelope(Created=None)
    refusal = invalid(schema, data)
    first = refusal.extra["errors"][0]
    # libxml2 reports the element found where Created was expected.
    assert first["line"] == line_of(data, "Expires>")
    assert first["path"] == "/env:Envelope/env:Header/env:Expires"
    assert "Created" in first["message"]


def test_two_body_children(schema: CompiledSchema) -> None:
    data = envelope(body=BODY + "\n" + BODY)
    refusal = invalid(schema, data)
    first = refusal.extra["errors"][0]
    assert first["line"] == line_of(data, "Body>") + 1
    assert first["path"] == "/env:Envelope/env:Body/{urn:example:court:judgment:1}Judgment[2]"


@pytest.mark.parametrize("body", ["", "just text", "<Judgment/>", f'<env:Extra xmlns:env="{ENV_NS}"/>'])
def test_body_needs_one_element_of_another_namespace(schema: CompiledSchema, body: str) -> None:
    refusal = invalid(schema, envelope(body=body))
    assert refusal.extra["errors"][0]["path"].startswith("/env:Envelope/env:Body")


@pytest.mark.parametrize("value", ["A" * 64, "a" * 63, "a" * 65, "g" * 64, ""])
def test_bad_request_hash(schema: CompiledSchema, value: str) -> None:
    data = envelope(RequestHash=value)
    first = invalid(schema, data).extra["errors"][0]
    assert first["line"] == line_of(data, "RequestHash>")
    assert first["path"] == "/env:Envelope/env:Header/env:RequestHash"


@pytest.mark.parametrize("value", ["2025-03-01T08:00:00", "2025-03-01", "yesterday", "2025-03-01T08:00:00+7"])
def test_instants_need_an_offset(schema: CompiledSchema, value: str) -> None:
    first = invalid(schema, envelope(Created=value)).extra["errors"][0]
    assert first["path"] == "/env:Envelope/env:Header/env:Created"


@pytest.mark.parametrize("field", ["MessageId", "CorrelationId", "Service", "Operation", "CaseRef", "Officer"])
def test_identifiers_are_bounded(schema: CompiledSchema, field: str) -> None:
    schema.validate(parse_xml(envelope(**{field: "x" * 128})))
    invalid(schema, envelope(**{field: "x" * 129}))
    invalid(schema, envelope(**{field: ""}))


def test_no_id_attribute_on_the_envelope(schema: CompiledSchema) -> None:
    refusal = invalid(schema, envelope(envelope_attrs=' Id="env-1"'))
    assert refusal.extra["errors"][0]["path"] == "/env:Envelope"


def test_header_order_is_fixed(schema: CompiledSchema) -> None:
    data = envelope().replace(b"<env:From>court</env:From>", b"").replace(
        b"<env:To>hub</env:To>", b"<env:To>hub</env:To><env:From>court</env:From>")
    invalid(schema, data)


def test_signature_is_validated_against_the_local_xmldsig_schema(schema: CompiledSchema) -> None:
    broken = SIGNATURE.replace("<ds:SignatureValue>3q2+7w==</ds:SignatureValue>", "")
    refusal = invalid(schema, envelope(signature=broken))
    assert refusal.extra["errors"][0]["path"] == "/env:Envelope/ds:Signature"
    assert "SignatureValue" in refusal.extra["errors"][0]["message"]


def test_signature_must_be_last(schema: CompiledSchema) -> None:
    data = envelope(signature=SIGNATURE).replace(b"</env:Envelope>", b"<env:Body/></env:Envelope>")
    invalid(schema, data)


def test_errors_are_capped_and_counted(schema: CompiledSchema) -> None:
    data = envelope(From="a", To="b", Created="c", Expires="d", RequestHash="e", CaseRef="", Officer="")
    refusal = invalid(schema, data)
    assert len(refusal.extra["errors"]) == MAX_REPORTED_ERRORS
    assert refusal.extra["error_count"] > MAX_REPORTED_ERRORS
    assert [e["line"] for e in refusal.extra["errors"]] == sorted(e["line"] for e in refusal.extra["errors"])


def test_validates_an_envelope_nested_in_another_document(schema: CompiledSchema) -> None:
    soap = b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>' + envelope(
        From="nobody") + b"</s:Body></s:Envelope>"
    inner = parse_xml(soap)[0][0]
    with pytest.raises(Refusal) as caught:
        schema.validate(inner)
    assert caught.value.extra["errors"][0]["path"] == "/env:Envelope/env:Header/env:From"
    schema.validate(parse_xml(soap.replace(b"nobody", b"court"))[0][0])


def test_messages_echoing_the_sender_are_sanitised(schema: CompiledSchema) -> None:
    refusal = invalid(schema, envelope(MessageId="x" * 5000))
    assert len(refusal.extra["errors"][0]["message"]) <= 201
    refusal = invalid(schema, envelope(Purpose="line one&#10;FAKE LOG LINE" + "x" * 2000))
    assert "\n" not in refusal.detail


def test_parse_and_validate_a_20kb_envelope_with_1000_elements(schema: CompiledSchema) -> None:
    items = "".join(f'<j:Item n="{i}">khoản {i}</j:Item>' for i in range(998))
    data = envelope(body=f'<j:Judgment xmlns:j="{JUDGMENT_NS}">{items}</j:Judgment>')
    assert 20_000 < len(data) < 40_000
    root = parse_xml(data)
    assert sum(1 for _ in root.iter()) > 1000
    for _ in range(20):
        schema.validate(parse_xml(data))


# --- loading: local only, compiled once -----------------------------------------------------------


def test_loaded_once_per_path() -> None:
    assert CompiledSchema.load(ENVELOPE_XSD) is CompiledSchema.load(str(ENVELOPE_XSD))
    assert CompiledSchema.load(SCHEMA_DIR / ".." / "schemas" / ENVELOPE_XSD.name) is CompiledSchema.load(ENVELOPE_XSD)


def test_original_w3c_xmldsig_schema_is_refused_and_the_local_copy_compiles() -> None:
    with pytest.raises(Refusal) as caught:
        parse_xml(SIGNXML_XMLDSIG.read_bytes())
    assert (caught.value.code, caught.value.rule) == ("XML_FORBIDDEN_CONSTRUCT", "doctype")
    local = CompiledSchema.load(XMLDSIG_XSD)
    local.validate(parse_xml(SIGNATURE.encode()))


def test_local_xmldsig_copy_only_drops_the_doctype() -> None:
    def canonical(data: bytes) -> bytes:
        root = etree.fromstring(data, etree.XMLParser(**PARSER_OPTIONS))
        return etree.tostring(root, method="c14n", with_comments=False)

    assert canonical(XMLDSIG_XSD.read_bytes()) == canonical(SIGNXML_XMLDSIG.read_bytes())
    assert b"Copyright 2001 The Internet Society and W3C" in XMLDSIG_XSD.read_bytes()
    assert b"<!DOCTYPE" not in XMLDSIG_XSD.read_bytes() and b"&" not in XMLDSIG_XSD.read_bytes()


SIGNED_THING = f"""<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:ds="{XMLDSIG_NS}"
    targetNamespace="urn:test:signed" elementFormDefault="qualified">
  {{import_}}
  <xs:element name="Signed"><xs:complexType><xs:sequence>
    <xs:element ref="ds:Signature"/>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"""
SIGNED_DOC = f'<Signed xmlns="urn:test:signed">{SIGNATURE}</Signed>'.encode()


def write_schema(directory: Path, import_: str, name: str = "signed.xsd") -> Path:
    path = directory / name
    path.write_text(SIGNED_THING.format(import_=import_))
    return path


@pytest.mark.parametrize("import_", [
    f'<xs:import namespace="{XMLDSIG_NS}"/>',
    f'<xs:import namespace="{XMLDSIG_NS}" schemaLocation="http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/'
    'xmldsig-core-schema.xsd"/>',
    f'<xs:import namespace="{XMLDSIG_NS}" schemaLocation="http://www.w3.org/TR/xmldsig-core/xmldsig-core-schema.xsd"/>',
])
def test_xmldsig_import_resolves_to_the_local_copy(tmp_path: Path, import_: str) -> None:
    CompiledSchema(write_schema(tmp_path, import_)).validate(parse_xml(SIGNED_DOC))


def test_envelope_schema_import_resolves_without_network(listener: Listener) -> None:
    # The envelope schema imports xmldsig by a relative location next to it; compiling it afresh
    # (not from the cache) contacts nothing.
    fresh = CompiledSchema(ENVELOPE_XSD)
    fresh.validate(parse_xml(envelope(signature=SIGNATURE)))
    assert listener.connections() == []


def test_remote_import_is_refused_and_never_fetched(tmp_path: Path, listener: Listener) -> None:
    path = write_schema(tmp_path, f'<xs:import namespace="{XMLDSIG_NS}" schemaLocation="{listener.url}/ds.xsd"/>')
    with pytest.raises(SchemaLoadError, match="not local"):
        CompiledSchema(path)
    assert listener.connections() == []


def test_import_outside_the_schema_directories_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside.xsd").write_text(XMLDSIG_XSD.read_text())
    inner = tmp_path / "schemas"
    inner.mkdir()
    path = write_schema(inner, f'<xs:import namespace="{XMLDSIG_NS}" schemaLocation="../outside.xsd"/>')
    with pytest.raises(SchemaLoadError, match="outside the schema directories"):
        CompiledSchema(path)


def test_local_import_with_a_doctype_is_refused(tmp_path: Path) -> None:
    (tmp_path / "w3c.xsd").write_bytes(SIGNXML_XMLDSIG.read_bytes())
    path = write_schema(tmp_path, f'<xs:import namespace="{XMLDSIG_NS}" schemaLocation="w3c.xsd"/>')
    with pytest.raises(SchemaLoadError, match="doctype"):
        CompiledSchema(path)


def test_local_sibling_import_is_allowed(tmp_path: Path) -> None:
    (tmp_path / "ds.xsd").write_bytes(XMLDSIG_XSD.read_bytes())
    path = write_schema(tmp_path, f'<xs:import namespace="{XMLDSIG_NS}" schemaLocation="ds.xsd"/>')
    CompiledSchema(path).validate(parse_xml(SIGNED_DOC))


def test_schema_with_a_doctype_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.xsd"
    path.write_text('<!DOCTYPE s [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                    '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>')
    with pytest.raises(SchemaLoadError, match="doctype"):
        CompiledSchema(path)


def test_broken_or_missing_schema_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(SchemaLoadError, match="cannot read"):
        CompiledSchema(tmp_path / "missing.xsd")
    bad = tmp_path / "bad.xsd"
    bad.write_text('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="a" type="nope"/>'
                   "</xs:schema>")
    with pytest.raises(SchemaLoadError):
        CompiledSchema(bad)


def test_xsi_schema_location_in_a_document_is_not_followed(schema: CompiledSchema, listener: Listener) -> None:
    data = envelope(envelope_attrs=f' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
                                   f' xsi:schemaLocation="{ENV_NS} {listener.url}/evil.xsd"')
    schema.validate(parse_xml(data))
    assert listener.connections() == []


# --- threads ---------------------------------------------------------------------------------------


def test_concurrent_validations_keep_their_own_errors(schema: CompiledSchema) -> None:
    """lxml's XMLSchema shares one error log per object across threads (validation drops the GIL):
    run this against a single shared XMLSchema and errors go missing or cross over. CompiledSchema
    compiles one per thread, so each thread sees exactly its own document's error."""
    documents = {n: parse_xml(envelope(From=f"bad{n}")) for n in range(6)}
    valid = parse_xml(envelope(Purpose="p" * 1000))
    problems: list[Any] = []
    start = threading.Barrier(len(documents) + 2)

    def check(n: int) -> None:
        start.wait()
        for _ in range(150):
            try:
                schema.validate(documents[n])
                problems.append((n, "accepted"))
            except Refusal as refusal:
                errors = refusal.extra["errors"]
                if len(errors) != 1 or f"'bad{n}'" not in errors[0]["message"]:
                    problems.append((n, errors))

    def accept() -> None:
        start.wait()
        for _ in range(150):
            try:
                schema.validate(valid)
            except Refusal as refusal:  # pragma: no cover - the failure this test exists to catch
                problems.append(("valid", refusal.extra))

    threads = [threading.Thread(target=check, args=(n,)) for n in documents]
    threads += [threading.Thread(target=accept) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
