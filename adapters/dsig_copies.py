"""signxml's signer and verifier, with their private tree copies made in memory instead of through bytes.

signxml copies the trees it works on so that it never changes the caller's tree: the document it signs,
the envelope it verifies (twice: once to take the signature out for the enveloped transform, once more
before canonicalising), the Signature element. Every copy is ``_fromstring(_tostring(node))``: serialise
and parse again. On a 12 KB envelope those round trips are 40% of a verification and a quarter of a
signature (bench/bench_envelope.py: "signxml verify as released" against "copies in memory").

Here ``_tostring`` hands back the node itself, wrapped, and ``_fromstring`` turns that wrapper into a
``copy.deepcopy`` of the node: libxml2 copies the tree into a new document in one C call, namespaces
reconciled. Every other parse signxml makes (of canonical bytes: the SignedInfo it checks, the signed
XML it returns) is still a real parse with its parser, so what is verified and what is returned to the
hub are untouched.

Why this is safe for the hub:
- the trees handed to signxml come from the hardened parser (no DTD, no entity, limits) or from the
  hub's own builders; each copy is still refused if it holds an entity reference, as signxml refuses
  one in what it parses (its DTD check has nothing to see on a copy, which never carries the DTD: the
  hardened parser refuses every DOCTYPE before that);
- only exclusive C14N without an InclusiveNamespaces PrefixList is accepted
  (``EnvelopeVerifier._vet_shape``): its output depends on the element and the namespaces it visibly
  uses, never on where a declaration sits, so a digest over a copy is the digest over the re-parsed text.
  (With a PrefixList it would not be: a deepcopy of an element inside a SOAP message drops the unused
  declarations it inherits, a serialisation keeps them.);
- a copy has no tail: a document's root has none, and a tail would be written after the root;
- if a signxml release ever used ``_tostring``'s result as bytes, the wrapper is not bytes and refuses to
  be compared, hashed, printed or tested for truth: the call raises, nothing is verified. A test reads the
  installed signxml and checks that every ``_tostring`` call is the argument of a ``_fromstring`` call.
"""

from __future__ import annotations

import copy
from typing import Any, NoReturn

from lxml import etree
from signxml import XMLSigner, XMLVerifier
from signxml.exceptions import InvalidInput


class _Node:
    """What ``_tostring`` returns in place of bytes: the node, to be copied by ``_fromstring``."""

    __slots__ = ("element",)

    def __init__(self, element: etree._Element) -> None:
        self.element = element

    def _misused(self, *_args: object) -> NoReturn:
        raise TypeError("signxml used an in-memory copy as bytes: adapters/dsig_copies.py does not fit this release")

    __bytes__ = __str__ = __bool__ = __hash__ = __eq__ = __ne__ = __len__ = __iter__ = _misused


class _CopiesInMemory:
    def _tostring(self, xml_node: Any, **kwargs: Any) -> Any:
        if kwargs or not isinstance(xml_node, etree._Element):
            return super()._tostring(xml_node, **kwargs)  # type: ignore[misc]
        return _Node(xml_node)

    def _fromstring(self, xml_string: Any, **kwargs: Any) -> Any:
        if not isinstance(xml_string, _Node):
            return super()._fromstring(xml_string, **kwargs)  # type: ignore[misc]
        if kwargs:
            raise InvalidInput("an in-memory copy takes no parser options")
        node = copy.deepcopy(xml_string.element)
        node.tail = None
        for _entity in node.iter(etree.Entity):
            raise InvalidInput("Entities are not supported in XML input")
        return node


class InMemorySigner(_CopiesInMemory, XMLSigner):
    """``XMLSigner`` whose copies of the document are made in memory."""


class InMemoryVerifier(_CopiesInMemory, XMLVerifier):
    """``XMLVerifier`` whose copies of the envelope and its Signature are made in memory."""
