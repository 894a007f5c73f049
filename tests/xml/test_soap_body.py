"""soap:Body carries one element and whitespace, nothing else, on both SOAP versions."""

from __future__ import annotations

import pytest

from adapters import soap_envelope
from adapters.refusal import Refusal

ENVELOPES = {"1.1": soap_envelope.SOAP11, "1.2": soap_envelope.SOAP12}


def _message(ns: str, inside: str) -> bytes:
    return (f'<soap:Envelope xmlns:soap="{ns}"><soap:Body>{inside}</soap:Body></soap:Envelope>').encode()


@pytest.mark.parametrize("version", ["1.1", "1.2"])
@pytest.mark.parametrize("inside", ["<a/>", "\n  <a/>\n", "<!-- a note --><a/>"])
def test_one_element_with_whitespace_or_comments_is_the_document(version: str, inside: str) -> None:
    got_version, element = soap_envelope.unwrap_any(_message(ENVELOPES[version], inside))
    assert (got_version, element.tag) == (version, "a")


@pytest.mark.parametrize("version", ["1.1", "1.2"])
@pytest.mark.parametrize("inside", ["text<a/>", "<a/>text", "<a/> <!-- x --> text"])
def test_text_beside_the_document_is_refused(version: str, inside: str) -> None:
    with pytest.raises(Refusal) as caught:
        soap_envelope.unwrap_any(_message(ENVELOPES[version], inside))
    assert (caught.value.code, caught.value.rule) == ("SCHEMA_INVALID", "soap_body")


@pytest.mark.parametrize("inside", ["<a/>tail", "lead<a/>"])
def test_an_agency_answer_with_text_beside_its_envelope_is_refused(inside: str) -> None:
    with pytest.raises(Refusal) as caught:
        soap_envelope.unwrap(_message(soap_envelope.SOAP12, inside))
    assert caught.value.rule == "soap_body"
    assert soap_envelope.unwrap(_message(soap_envelope.SOAP12, " <a/> ")).tag == "a"


def test_an_agency_answer_with_a_comment_beside_its_envelope_is_read_like_an_inbound_message() -> None:
    assert soap_envelope.unwrap(_message(soap_envelope.SOAP12, "<!-- from the gateway --><a/>")).tag == "a"
    with pytest.raises(Refusal):
        soap_envelope.unwrap(_message(soap_envelope.SOAP12, "<!-- only a comment -->"))
