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
    children = _elements_of(body)
    if body is None or len(children) != 1:
        raise Refusal("soap:Body must hold exactly one element", code="SCHEMA_INVALID", rule="soap_body")
    _no_text_beside(body)
    if children[0].tag == f"{{{SOAP12}}}Fault":
        raise fault_to_refusal(children[0])
    return children[0]


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


# --- both SOAP versions, for the services the hub itself serves ---------------------------------------
# A client picks the version: SOAP 1.1 (text/xml) or 1.2. The hub answers in the version it was spoken
# to, and a fault names the registry code either way: as the 1.2 Subcode, and in 1.1, which has no
# subcodes, as ``thads:code`` in the fault's detail beside the standard ``soap:Client`` / ``soap:Server``.

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
CONTENT_TYPE_11 = "text/xml; charset=utf-8"
VERSIONS = {SOAP11: "1.1", SOAP12: "1.2"}


def content_type_for(version: str) -> str:
    return CONTENT_TYPE_11 if version == "1.1" else CONTENT_TYPE


def _ns(version: str) -> str:
    return SOAP11 if version == "1.1" else SOAP12


def unwrap_any(data: bytes, limits: XmlLimits = DEFAULT_LIMITS) -> tuple[str, etree._Element]:
    """(version, the single element inside soap:Body) of a SOAP 1.1 or 1.2 message."""
    root = parse_xml(data, limits)
    version = VERSIONS.get(etree.QName(root).namespace or "")
    if version is None or etree.QName(root).localname != "Envelope":
        raise Refusal("not a SOAP 1.1 or 1.2 envelope", code="SCHEMA_INVALID", rule="soap_envelope")
    body = root.find(f"{{{_ns(version)}}}Body")
    children = _elements_of(body)
    if body is None or len(children) != 1:
        raise Refusal("soap:Body must hold exactly one element", code="SCHEMA_INVALID", rule="soap_body")
    _no_text_beside(body)
    return version, children[0]


def _elements_of(body: etree._Element | None) -> list[etree._Element]:
    """The element children of soap:Body: a comment beside the document carries nothing, on either route."""
    return [c for c in body if isinstance(c.tag, str)] if body is not None else []


def _no_text_beside(body: etree._Element) -> None:
    """soap:Body holds elements and whitespace only (SOAP 1.1 and 1.2 alike): text beside the document would be
    neither signed nor read, and a sender has no reason to put it there."""
    texts = [body.text, *(child.tail for child in body)]
    if any(t and t.strip() for t in texts):
        raise Refusal("soap:Body holds text beside its element", code="SCHEMA_INVALID", rule="soap_body")


def wrap_for(version: str, payload: etree._Element) -> bytes:
    ns = _ns(version)
    env = etree.Element(f"{{{ns}}}Envelope", nsmap={"soap": ns})
    etree.SubElement(env, f"{{{ns}}}Body").append(payload)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def fault_for(version: str, code: str, reason: str, *, sender: bool = True, rule: str | None = None,
              detail: etree._Element | None = None) -> bytes:
    """A fault in ``version`` carrying the registry ``code`` (1.2: Subcode; 1.1: faultcode
    ``soap:Client``/``soap:Server`` and ``thads:code`` in the detail), the rule, and ``detail`` (e.g. the
    hub's signed negative acknowledgment) appended to the fault's detail."""
    if version != "1.1":
        data = fault(code, reason, sender=sender, rule=rule)
        if detail is None:
            return data
        root = parse_xml(data)
        f = root.find(f"{{{SOAP12}}}Body/{{{SOAP12}}}Fault")
        assert f is not None
        holder = f.find(f"{{{SOAP12}}}Detail")
        if holder is None:
            holder = etree.SubElement(f, f"{{{SOAP12}}}Detail")
        holder.append(detail)
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    env = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"soap": SOAP11, "thads": PROBLEM_NS})
    f = etree.SubElement(etree.SubElement(env, f"{{{SOAP11}}}Body"), f"{{{SOAP11}}}Fault")
    etree.SubElement(f, "faultcode").text = "soap:Client" if sender else "soap:Server"
    etree.SubElement(f, "faultstring").text = reason
    holder = etree.SubElement(f, "detail")
    etree.SubElement(holder, f"{{{PROBLEM_NS}}}code").text = f"thads:{code}"
    if rule:
        etree.SubElement(holder, f"{{{PROBLEM_NS}}}rule").text = rule
    if detail is not None:
        holder.append(detail)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def fault11_to_refusal(fault_el: etree._Element) -> Refusal:
    code_text = fault_el.findtext(f"detail/{{{PROBLEM_NS}}}code") or ""
    code = code_text.split(":", 1)[1] if code_text.startswith("thads:") else "AGENCY_UNAVAILABLE"
    return Refusal(fault_el.findtext("faultstring") or "SOAP fault", code=code,
                   rule=fault_el.findtext(f"detail/{{{PROBLEM_NS}}}rule"))
