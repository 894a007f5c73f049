"""The one XML parser for every document that comes from outside the hub.

Everything an agency, a case system or a callback sends is hostile until proven otherwise, so every
inbound XML byte goes through :func:`parse_xml` and nothing else (never ``etree.fromstring`` with
lxml's global default parser, whose settings any imported library may change).

Why each setting of :data:`PARSER_OPTIONS`:

- ``resolve_entities=False``: entity references are never expanded. Expansion is how XXE reads
  ``file:///etc/passwd`` into a document, and how "billion laughs" (nested entities) and the
  quadratic blow-up (one large entity referenced thousands of times) turn kilobytes into gigabytes.
- ``load_dtd=False``, ``dtd_validation=False``, ``attribute_defaults=False``: an external DTD or an
  external parameter entity (``%xxe;``) is never fetched, and a DTD can never add attributes the
  sender did not write (defaulted attributes would change what a signature covers).
- ``no_network=True``: libxml2 never opens a connection, so a document cannot make the hub probe its
  internal network (SSRF) or leak data to an attacker's server, whatever else goes wrong.
- ``huge_tree=False``: keeps libxml2's own hard limits (depth 256, 10 MB text nodes, name length,
  entity amplification) as a second line behind :class:`XmlLimits`.
- ``recover=False``: a broken document is refused, never "repaired" into something the sender did
  not write (and did not sign).
- ``remove_pis=False``, ``remove_comments=False``, ``remove_blank_text=False``: nothing is silently
  dropped. The tree must be exactly what was signed, and a forbidden construct must be seen to be
  refused rather than quietly hidden.
- XInclude is never processed: lxml only expands it on an explicit ``xinclude()`` call, which the hub
  never makes; elements in the XInclude namespaces are refused anyway so a later stage cannot be
  tricked into it.

Beyond the settings, the policy is to refuse, not to neutralise:

- Any DOCTYPE (internal subset, external id, or a bare ``<!DOCTYPE x>``) is refused (rule
  ``doctype``) before libxml2 reads its internal subset: no agency document needs a DTD, and refusing
  early means no entity declaration is ever processed, not even one used in an attribute value.
- Undeclared entity references (rule ``entity``): without a DTD only the five predefined entities and
  character references are legal.
- Every processing instruction (rule ``processing_instruction``), the XML declaration excepted (it is
  not a PI). Nothing the hub consumes gives a PI meaning, ``xml-stylesheet`` invites a downstream
  viewer to fetch and run a stylesheet, and an allow-list would be one more policy to keep. Comments
  are accepted: they carry no behaviour.
- Byte size is checked before parsing; depth, element count and attributes per element are counted
  while the document streams through an ``XMLPullParser`` fed in 64 KiB chunks, so a document over a
  limit is refused at the end of the chunk where it crossed it, not after its whole tree was built.
  The cost for an ordinary document is one pass of Python over the start/end events (about a
  microsecond per element).

Thread safety: lxml parser objects keep per-document state and must not be shared between threads.
:func:`parse_xml` builds fresh parsers on every call: that costs microseconds, is always safe, and
cannot leak a half-fed document or an error log from one request into the next.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, NoReturn

from lxml import etree

from adapters.refusal import Refusal

XINCLUDE_NAMESPACES: Final = frozenset({"http://www.w3.org/2001/XInclude", "http://www.w3.org/2003/XInclude"})

PARSER_OPTIONS: Final[Mapping[str, Any]] = MappingProxyType({
    "resolve_entities": False,
    "load_dtd": False,
    "dtd_validation": False,
    "attribute_defaults": False,
    "no_network": True,
    "huge_tree": False,
    "recover": False,
    "remove_pis": False,
    "remove_comments": False,
    "remove_blank_text": False,
})
"""Keyword arguments for ``etree.XMLParser`` shared by every parser in the adapters (see the module
docstring for why). Exposed so schema loading can build a parser with a resolver attached; inbound
documents must still go through :func:`parse_xml`, which adds the checks these options cannot express."""


@dataclass(frozen=True, slots=True)
class XmlLimits:
    """Per-document ceilings. Rules in refusals are named after these fields."""

    max_bytes: int = 5 * 1024 * 1024
    # libxml2 itself stops at depth 256 (huge_tree=False): a larger value here is capped by that.
    max_depth: int = 64
    max_elements: int = 100_000
    # Namespace declarations count too: thousands of xmlns:pN on one element cost libxml2 as much
    # as attributes do, and no legitimate document needs them.
    max_attributes_per_element: int = 64

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_depth", "max_elements", "max_attributes_per_element"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"XmlLimits.{name} must be a positive int, not {value!r}")


DEFAULT_LIMITS: Final = XmlLimits()

# The prolog is normally a few hundred bytes; a small first chunk lets a DOCTYPE be refused without
# libxml2 reading ahead into a large document.
_PROLOG_CHUNK = 8 * 1024
# Big enough that a normal document is one feed() call; small enough that a document over the
# element limit is stopped after a bounded amount of extra tree (at most ~16k tiny elements).
_BODY_CHUNK = 64 * 1024
_XINCLUDE_PREFIXES: Final = tuple(f"{{{ns}}}" for ns in sorted(XINCLUDE_NAMESPACES))
_UNDECLARED_ENTITY = frozenset({etree.ErrorTypes.ERR_UNDECLARED_ENTITY, etree.ErrorTypes.WAR_UNDECLARED_ENTITY})
# libxml2's own ceilings (kept by huge_tree=False) surface as syntax errors; they are size refusals.
_PARSER_LIMITS = frozenset({etree.ErrorTypes.ERR_RESOURCE_LIMIT, etree.ErrorTypes.ERR_NAME_TOO_LONG})
_MAX_MESSAGE = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def parse_xml(data: bytes, limits: XmlLimits = DEFAULT_LIMITS) -> etree._Element:
    """Parse an untrusted document and return its root element, or raise :class:`Refusal`.

    The encoding is the document's own (BOM or XML declaration), which is why only bytes are
    accepted: text decoded elsewhere may disagree with the declaration the signature covers.
    """
    if not isinstance(data, bytes):
        raise TypeError(f"parse_xml takes the document's bytes, not {type(data).__name__}")
    if len(data) > limits.max_bytes:
        raise Refusal(f"XML document is {len(data)} bytes, over the limit of {limits.max_bytes}",
                      code="XML_TOO_LARGE", rule="max_bytes", limit=limits.max_bytes, size=len(data))
    _refuse_doctype(data)
    root = _parse_within_limits(data, limits)
    _check_tree(root)
    return root


def _chunks(data: bytes, first: int, rest: int) -> Iterator[bytes]:
    if len(data) <= first:
        if data:
            yield data
        return
    yield data[:first]
    for start in range(first, len(data), rest):
        yield data[start:start + rest]


class _DoctypeSeen(Exception):
    pass


class _PrologDone(Exception):
    pass


class _PrologTarget:
    """Parser target for the first pass: stops at the DOCTYPE or at the root's start tag.

    libxml2 reports a DOCTYPE to the target before it reads the internal subset, so raising here
    means no entity declaration is processed at all. Stopping at the root costs microseconds.
    """

    def doctype(self, name: str | None, pubid: str | None, system: str | None) -> None:
        raise _DoctypeSeen

    def start(self, tag: str, attrib: Mapping[str, str]) -> None:
        raise _PrologDone

    def close(self) -> None:
        return None


def _refuse_doctype(data: bytes) -> None:
    parser = etree.XMLParser(target=_PrologTarget(), **PARSER_OPTIONS)
    try:
        for chunk in _chunks(data, _PROLOG_CHUNK, _BODY_CHUNK):
            parser.feed(chunk)
            if parser.feed_error_log.filter_from_errors():
                return  # not well-formed: the second pass reports it with its line
        parser.close()
    except _PrologDone:
        return
    except _DoctypeSeen:
        raise Refusal("XML document has a DOCTYPE; DTDs and entity declarations are not accepted",
                      code="XML_FORBIDDEN_CONSTRUCT", rule="doctype") from None
    except etree.XMLSyntaxError:
        return


class _Budget:
    """Counts depth, elements and attributes over the pull parser's events, across chunks."""

    __slots__ = ("count", "depth", "limits", "ns_declarations")

    def __init__(self, limits: XmlLimits) -> None:
        self.limits = limits
        self.depth = 0
        self.count = 0
        self.ns_declarations = 0

    def consume(self, events: Iterable[tuple[str, Any]]) -> None:
        # Locals, not attributes, in the loop: it runs twice per element on the request path.
        limits = self.limits
        max_depth, max_elements = limits.max_depth, limits.max_elements
        max_attributes = limits.max_attributes_per_element
        depth, count, ns_declarations = self.depth, self.count, self.ns_declarations
        for event, item in events:
            if event == "end":
                depth -= 1
            elif event == "start":
                depth += 1
                count += 1
                if depth > max_depth:
                    raise Refusal(f"XML nesting deeper than {max_depth} levels", code="XML_TOO_LARGE",
                                  rule="max_depth", limit=max_depth, line=item.sourceline)
                if count > max_elements:
                    raise Refusal(f"XML document has more than {max_elements} elements", code="XML_TOO_LARGE",
                                  rule="max_elements", limit=max_elements, line=item.sourceline)
                if ns_declarations + len(item.attrib) > max_attributes:
                    raise Refusal(f"XML element has more than {max_attributes} attributes and namespace declarations",
                                  code="XML_TOO_LARGE", rule="max_attributes_per_element", limit=max_attributes,
                                  line=item.sourceline)
                ns_declarations = 0
                if item.tag.startswith(_XINCLUDE_PREFIXES):
                    raise Refusal("XML document contains an XInclude element", code="XML_FORBIDDEN_CONSTRUCT",
                                  rule="xinclude", line=item.sourceline)
            elif event == "start-ns":
                ns_declarations += 1
            elif event == "pi":
                raise Refusal("XML document contains a processing instruction", code="XML_FORBIDDEN_CONSTRUCT",
                              rule="processing_instruction", target=clean_text(item.target), line=item.sourceline)
        self.depth, self.count, self.ns_declarations = depth, count, ns_declarations


def _parse_within_limits(data: bytes, limits: XmlLimits) -> etree._Element:
    parser = etree.XMLPullParser(events=("start", "end", "start-ns", "pi"), **PARSER_OPTIONS)
    budget = _Budget(limits)
    failure: etree.XMLSyntaxError | None = None
    try:
        for chunk in _chunks(data, _BODY_CHUNK, _BODY_CHUNK):
            parser.feed(chunk)
            budget.consume(parser.read_events())
            # lxml's feed parser lets an undeclared-entity error pass without raising (it tolerates
            # them when entities are not resolved) and would then restart mid-document on the next chunk.
            if parser.feed_error_log.filter_from_errors():
                break
        else:
            root: etree._Element = parser.close()
            budget.consume(parser.read_events())  # processing instructions after the root come at close
            return root
    except etree.XMLSyntaxError as exc:
        failure = exc
    # A limit crossed before the error is the better answer: libxml2 stops at depth 256 with a
    # syntax error, long after max_depth was passed.
    budget.consume(parser.read_events())
    errors = parser.feed_error_log.filter_from_errors()
    if errors:
        _refuse_syntax(errors[0].type, errors[0].line, errors[0].column, errors[0].message)
    if failure is None:  # pragma: no cover - an error is logged whenever libxml2 fails
        _refuse_syntax(-1, 1, 0, "unknown parser error")
    _refuse_syntax(failure.code, failure.lineno or 1, failure.offset or 0, failure.msg)


def _refuse_syntax(error_type: int, line: int, column: int, message: str) -> NoReturn:
    message = clean_text(message)
    where: dict[str, int] = {"line": max(line, 1)}
    if column > 0:
        where["column"] = column
    if error_type in _UNDECLARED_ENTITY:
        raise Refusal(f"XML entity reference at line {where['line']} is not one of the predefined entities",
                      code="XML_FORBIDDEN_CONSTRUCT", rule="entity", **where)
    if error_type in _PARSER_LIMITS:
        rule = "max_depth" if "depth" in message.lower() else "parser_limit"
        raise Refusal(f"XML document exceeds a parser limit at line {where['line']}: {message}",
                      code="XML_TOO_LARGE", rule=rule, message=message, **where)
    raise Refusal(f"XML document is not well-formed at line {where['line']}: {message}",
                  code="XML_MALFORMED", rule="well_formed", message=message, **where)


def _check_tree(root: etree._Element) -> None:
    """Defence in depth: what the streaming checks exclude must also be absent from the result."""
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise Refusal("XML document has a DOCTYPE; DTDs and entity declarations are not accepted",
                      code="XML_FORBIDDEN_CONSTRUCT", rule="doctype")
    entity = next(root.iter(etree.Entity), None)
    if entity is not None:
        raise Refusal("XML document contains an unexpanded entity reference", code="XML_FORBIDDEN_CONSTRUCT",
                      rule="entity", line=entity.sourceline)


def clean_text(text: str | None, limit: int = _MAX_MESSAGE) -> str:
    """Make a parser or validator message safe to echo into a problem document and a log line.

    Such messages quote the sender's names and values: control characters could forge log lines and
    an unbounded value could flood them.
    """
    text = _CONTROL.sub("?", text or "").strip()
    return text if len(text) <= limit else text[:limit] + "…"
