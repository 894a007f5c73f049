"""XSD validation against schemas compiled once, at start-up, from local files only.

Loading a schema is itself a way in: libxml2 parses imported and included schema documents with
entity substitution on, and would follow any ``schemaLocation`` it is given, including ``http://``
ones. So every schema document, the top one and each import, is first vetted by the hardened parser
(no DOCTYPE, no entities, no PIs), and an ``etree.Resolver`` answers every load libxml2 asks for:

- the well-known W3C locations of the xmldsig schema (and an import of its namespace that names no
  location at all) map to the DTD-free copy in ``adapters/schemas``;
- a ``file:`` URL or path is served only from the directory of the schema being loaded or from
  ``adapters/schemas``, after vetting;
- anything else (another host, ``../`` out of those directories) fails the load with
  :class:`SchemaLoadError`. The resolver never returns ``None``, so libxml2's own loader, which
  would touch the file system or the network on its own terms, is never used.

Thread safety (checked, see ``tests/xml/test_xsd.py``): a compiled libxml2 schema may be shared, but
an lxml ``XMLSchema`` object keeps one error log per object, cleared at the start of each validation,
and validation runs without the GIL. Two threads validating with the same object see each other's
errors or none at all. :class:`CompiledSchema` therefore compiles one ``XMLSchema`` per thread, on
that thread's first use, from sources read and vetted once (under a millisecond for the envelope).
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import urlsplit
from urllib.request import url2pathname

from lxml import etree

from adapters.refusal import Refusal
from adapters.xml_hardened import DEFAULT_LIMITS, PARSER_OPTIONS, clean_text, parse_xml

SCHEMA_DIR: Final = Path(__file__).resolve().with_name("schemas")
ENVELOPE_XSD: Final = SCHEMA_DIR / "thads-envelope-1.xsd"
XMLDSIG_XSD: Final = SCHEMA_DIR / "xmldsig-core-schema.xsd"

XSD_NS: Final = "http://www.w3.org/2001/XMLSchema"
XMLDSIG_NS: Final = "http://www.w3.org/2000/09/xmldsig#"

# An xs:import that names only the namespace is pinned to the local copy.
KNOWN_NAMESPACES: Final[Mapping[str, Path]] = MappingProxyType({XMLDSIG_NS: XMLDSIG_XSD})
# The locations published schemas (SAML, ISO 20022 wrappers, agencies' own) use for xmldsig.
KNOWN_LOCATIONS: Final[Mapping[str, Path]] = MappingProxyType({
    XMLDSIG_NS: XMLDSIG_XSD,
    "http://www.w3.org/TR/xmldsig-core/xmldsig-core-schema.xsd": XMLDSIG_XSD,
    "https://www.w3.org/TR/xmldsig-core/xmldsig-core-schema.xsd": XMLDSIG_XSD,
    "http://www.w3.org/TR/2002/REC-xmldsig-core-20020212/xmldsig-core-schema.xsd": XMLDSIG_XSD,
    "https://www.w3.org/TR/2002/REC-xmldsig-core-20020212/xmldsig-core-schema.xsd": XMLDSIG_XSD,
    "http://www.w3.org/TR/2008/REC-xmldsig-core-20080610/xmldsig-core-schema.xsd": XMLDSIG_XSD,
    "https://www.w3.org/TR/2008/REC-xmldsig-core-20080610/xmldsig-core-schema.xsd": XMLDSIG_XSD,
})

# Enough to fix a document in one round trip without echoing a hostile document's every flaw.
MAX_REPORTED_ERRORS: Final = 5

# Schema compilation goes through lxml's per-parser resolver context and the shared source cache.
_COMPILE_LOCK = threading.Lock()
_REFUSED_PLACEHOLDER = b"<refused-by-local-resolver/>"
_PATH_STEP = re.compile(r"(?P<name>[^\[\]/@]+)(?:\[(?P<index>[0-9]+)\])?")


class SchemaLoadError(Exception):
    """A schema could not be loaded: unreadable, refused by the hardened parser, importing something
    that is not local, or not compiling. A deployment error, raised at start-up, never a refusal."""


class CompiledSchema:
    """One XSD, compiled at start-up; :meth:`validate` raises a SCHEMA_INVALID :class:`Refusal`.

    Use :meth:`load` (cached per path). Constructing directly compiles afresh, which tests use.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path).resolve()
        self.name = self.path.name
        self._roots = (self.path.parent, SCHEMA_DIR)
        self._sources: dict[Path, bytes] = {}
        self._local = threading.local()
        # Compiled here so a broken schema fails the start-up, not the first request.
        self._local.schema = self._compile()
        self._prefixes = _prefixes_of(self._sources[self.path])

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> CompiledSchema:
        """The compiled schema at ``path``, compiled once per process (cached by resolved path)."""
        return _load(Path(path).resolve())

    def validate(self, element: etree._Element) -> None:
        """Validate ``element`` (a root, or an envelope inside a SOAP Body) as a document of this schema.

        The refusal's ``errors`` holds the first :data:`MAX_REPORTED_ERRORS` as ``{"line", "path",
        "message"}``, paths written with this schema's prefixes; ``error_count`` counts them all.
        """
        schema = self._schema()
        try:
            if schema.validate(element):
                return
        except etree.XMLSchemaValidateError:
            # libxml2 gave up ("internal error"): fail closed, like any other invalid document.
            raise Refusal(f"document could not be validated against {self.name}", code="SCHEMA_INVALID",
                          rule=self.name, errors=[]) from None
        entries = [e for e in schema.error_log if e.level >= etree.ErrorLevels.ERROR] or list(schema.error_log)
        errors = [{"line": entry.line, "path": self._readable_path(element, entry.path),
                   "message": clean_text(entry.message)} for entry in entries[:MAX_REPORTED_ERRORS]]
        if not errors:
            raise Refusal(f"document does not validate against {self.name}", code="SCHEMA_INVALID",
                          rule=self.name, errors=[])
        first = errors[0]
        raise Refusal(f"{first['path']} (line {first['line']}): {first['message']}", code="SCHEMA_INVALID",
                      rule=self.name, errors=errors, error_count=len(entries))

    def _schema(self) -> etree.XMLSchema:
        schema: etree.XMLSchema | None = getattr(self._local, "schema", None)
        if schema is None:
            schema = self._local.schema = self._compile()
        return schema

    def _compile(self) -> etree.XMLSchema:
        with _COMPILE_LOCK:
            resolver = _LocalResolver(self._roots, self._sources)
            # A fresh parser per compile: lxml keeps an exception raised during a load in the parser's
            # context, and the resolvers travel with the parser into the compiler's imports.
            parser = etree.XMLParser(**PARSER_OPTIONS)
            parser.resolvers.add(resolver)
            try:
                source = resolver.source(self.path)
                document = etree.fromstring(source, parser, base_url=self.path.as_uri())
                schema = etree.XMLSchema(document)
            except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
                reason = "; ".join(resolver.refused) or clean_text(str(exc), 500)
                raise SchemaLoadError(f"{self.path}: {reason}") from None
            if resolver.refused:
                # libxml2 only warns when an import it does not use fails to load: still a broken set-up.
                raise SchemaLoadError(f"{self.path}: {'; '.join(resolver.refused)}")
            return schema

    def _readable_path(self, validated: etree._Element, libxml2_path: str | None) -> str:
        """libxml2's path uses the sender's prefixes and writes ``*`` for a default namespace; name the
        node with this schema's own prefixes instead, so the same mistake reads the same way."""
        if not libxml2_path:
            return ""
        node = _node_at(validated, libxml2_path)
        if node is None:
            return libxml2_path
        steps: list[str] = []
        current: etree._Element | None = node
        while current is not None:
            qname = etree.QName(current)
            prefix = self._prefixes.get(qname.namespace or "")
            if prefix:
                step = f"{prefix}:{qname.localname}"
            elif qname.namespace:
                step = f"{{{qname.namespace}}}{qname.localname}"
            else:
                step = qname.localname
            parent = current.getparent() if current is not validated else None
            if parent is not None:
                same = [sibling for sibling in parent if sibling.tag == current.tag]
                if len(same) > 1:
                    step += f"[{same.index(current) + 1}]"
            steps.append(step)
            current = parent
        return "/" + "/".join(reversed(steps))


@functools.cache
def _load(path: Path) -> CompiledSchema:
    return CompiledSchema(path)


class _LocalResolver(etree.Resolver):
    """Serves schema loads from vetted local files; records anything else as refused."""

    def __init__(self, roots: tuple[Path, ...], sources: dict[Path, bytes]) -> None:
        super().__init__()
        self.roots = roots
        self.sources = sources
        self.refused: list[str] = []

    def resolve(self, system_url: str | None, public_id: str | None, context: Any) -> Any:
        try:
            path = self.locate(system_url or "")
            data = self.source(path)
        except SchemaLoadError as exc:
            self.refused.append(str(exc))
            # Not raised: lxml would keep the exception in the parser context. A document that is
            # not a schema makes the compile fail, and _compile reports the recorded reason.
            return self.resolve_string(_REFUSED_PLACEHOLDER, context)
        return self.resolve_string(data, context, base_url=path.as_uri())

    def locate(self, url: str) -> Path:
        known = KNOWN_LOCATIONS.get(url)
        if known is not None:
            return known
        parts = urlsplit(url)
        if parts.scheme == "file" and parts.netloc in ("", "localhost"):
            candidate = Path(url2pathname(parts.path))
        elif not parts.scheme and os.path.isabs(url):
            candidate = Path(url)
        else:
            raise SchemaLoadError(f"schema location {clean_text(url)!r} is not local and not a known schema")
        candidate = candidate.resolve()
        if not any(candidate.is_relative_to(root) for root in self.roots):
            raise SchemaLoadError(f"schema location {str(candidate)!r} is outside the schema directories")
        return candidate

    def source(self, path: Path) -> bytes:
        cached = self.sources.get(path)
        if cached is None:
            cached = self.sources[path] = _vetted_source(path)
        return cached


def _vetted_source(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SchemaLoadError(f"cannot read schema {str(path)!r}: {exc.strerror}") from None
    try:
        root = parse_xml(data, DEFAULT_LIMITS)
    except Refusal as refusal:
        raise SchemaLoadError(f"schema {str(path)!r} refused by the hardened parser: "
                              f"{refusal.code}/{refusal.rule}: {refusal.detail}") from None
    pinned = False
    for element in root.iter(f"{{{XSD_NS}}}import"):
        local = KNOWN_NAMESPACES.get(element.get("namespace") or "")
        if local is not None and element.get("schemaLocation") is None:
            element.set("schemaLocation", local.as_uri())
            pinned = True
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8") if pinned else data


def _prefixes_of(source: bytes) -> dict[str, str]:
    """Namespace -> prefix as the schema itself writes them (``env``, ``ds``), for readable paths."""
    root = parse_xml(source, DEFAULT_LIMITS)
    prefixes: dict[str, str] = {}
    for prefix, namespace in sorted(root.nsmap.items(), key=lambda item: item[0] or ""):
        if prefix and namespace != XSD_NS:
            prefixes.setdefault(namespace, prefix)
    return prefixes


def _node_at(validated: etree._Element, libxml2_path: str) -> etree._Element | None:
    """Follow libxml2's node path (``/e:Envelope/*[2]/x:Item[3]``) from the validated element.

    Its first step is the validated element itself (libxml2 validates a subtree as a document); a
    named step counts same-name, same-prefix siblings, ``*`` (default namespace) counts all elements.
    """
    steps = libxml2_path.split("/")[1:]
    if not steps:
        return None
    node = validated
    for step in steps[1:]:
        match = _PATH_STEP.fullmatch(step)
        if match is None:
            return None
        name, index = match["name"], int(match["index"] or 1)
        children = [child for child in node if isinstance(child.tag, str)]
        if name != "*":
            prefix, _, local = name.rpartition(":")
            children = [child for child in children
                        if etree.QName(child).localname == local
                        and (child.prefix == prefix if prefix else etree.QName(child).namespace is None)]
        if not 1 <= index <= len(children):
            return None
        node = children[index - 1]
    return node
