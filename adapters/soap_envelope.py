"""SOAP 1.2 framing around the signed envelope: the business exchange is the thads Envelope, carried
as the only child of soap:Body (no WS-Security), and refusals are SOAP Faults whose Subcode is the
error registry code (``thads:SIGNATURE_INVALID``), so a SOAP client can act on the same codes as a
REST client reading problem+json.
"""

from __future__ import annotations

from lxml import etree

from adapters.refusal import Refusal
from adapters.xml_hardened import DEFAULT_LIMITS, XmlLimits, parse_xml

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
PROBLEM_NS = "urn:thads:problem"
CONTENT_TYPE = "application/soap+xml; charset=utf-8"


def wrap(payload: etree._Element) -> bytes:
    env = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"soap": SOAP12})
    etree.SubElement(env, f"{{{SOAP12}}}Body").append(payload)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def unwrap(data: bytes, limits: XmlLimits = DEFAULT_LIMITS) -> etree._Element:
    """The single element inside soap:Body, after the hardened parse of the whole message."""
    root = parse_xml(data, limits)
    if root.tag != f"{{{SOAP12}}}Envelope":
        raise Refusal("not a SOAP 1.2 envelope", code="SCHEMA_INVALID", rule="soap_envelope")
    body = root.find(f"{{{SOAP12}}}Body")
    if body is None or len(body) != 1:
        raise Refusal("soap:Body must hold exactly one element", code="SCHEMA_INVALID", rule="soap_body")
    if body[0].tag == f"{{{SOAP12}}}Fault":
        raise fault_to_refusal(body[0])
    return body[0]


def fault(code: str, reason: str, *, sender: bool = True, rule: str | None = None) -> bytes:
    """A SOAP 1.2 Fault: Code Sender/Receiver, Subcode thads:<registry code>, the reason, the rule."""
    env = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"soap": SOAP12, "thads": PROBLEM_NS})
    f = etree.SubElement(etree.SubElement(env, f"{{{SOAP12}}}Body"), f"{{{SOAP12}}}Fault")
    code_el = etree.SubElement(f, f"{{{SOAP12}}}Code")
    etree.SubElement(code_el, f"{{{SOAP12}}}Value").text = "soap:Sender" if sender else "soap:Receiver"
    etree.SubElement(etree.SubElement(code_el, f"{{{SOAP12}}}Subcode"), f"{{{SOAP12}}}Value").text = f"thads:{code}"
    text = etree.SubElement(etree.SubElement(f, f"{{{SOAP12}}}Reason"), f"{{{SOAP12}}}Text")
    text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
    text.text = reason
    if rule:
        etree.SubElement(etree.SubElement(f, f"{{{SOAP12}}}Detail"), f"{{{PROBLEM_NS}}}rule").text = rule
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def fault_to_refusal(fault_el: etree._Element) -> Refusal:
    sub = fault_el.findtext(f"{{{SOAP12}}}Code/{{{SOAP12}}}Subcode/{{{SOAP12}}}Value") or ""
    reason = fault_el.findtext(f"{{{SOAP12}}}Reason/{{{SOAP12}}}Text") or "SOAP fault"
    rule = fault_el.findtext(f"{{{SOAP12}}}Detail/{{{PROBLEM_NS}}}rule")
    code = sub.split(":", 1)[1] if sub.startswith("thads:") else "AGENCY_UNAVAILABLE"
    return Refusal(reason, code=code, rule=rule)
