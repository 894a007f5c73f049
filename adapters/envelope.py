"""The signed message envelope of the Conventions (``urn:thads:envelope:1``), built, signed and verified.

Signing: one enveloped XML-DSig signature over the whole Envelope (Reference URI=""), exclusive C14N,
RSA-SHA256 or ECDSA-P256-SHA256 by the key's type, the X.509 certificate in KeyInfo, ``ds:Signature``
the last child of ``env:Envelope``.

Verification is where signature wrapping is stopped, so it is strict about shape before it is
cryptographic, and it hands back only what signxml returns as signed:
1. hardened parse (no DTD, no entities, limits), then the envelope XSD;
2. exactly one ``ds:Signature`` in the whole document, and it is the Envelope's last child;
3. exactly one Reference, with URI="" (the whole document), only the enveloped and exclusive-C14N
   transforms and no InclusiveNamespaces PrefixList, exclusive C14N for SignedInfo, SHA-256 digests,
   RSA-SHA256 / ECDSA-SHA256 only;
4. exactly one certificate in KeyInfo, accepted by the trust store for the agency in ``From``;
5. the cryptographic check by signxml with that certificate, the signature location pinned to ``./``
   (signxml's own tree copies made in memory: ``adapters.dsig_copies``);
6. header and body read from ``VerifyResult.signed_xml`` only, and its ``From`` must equal the one
   the certificate was checked against.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
from dataclasses import dataclass, fields
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConfiguration,
    SignatureMethod,
)
from signxml.exceptions import InvalidInput, InvalidSignature
from signxml.util import strip_pem_header

from adapters.agency_id import AGENCY_ID
from adapters.dsig_copies import InMemorySigner, InMemoryVerifier
from adapters.pki import PrivateKey, agency_of, fingerprint, load_cert, load_key
from adapters.refusal import Refusal
from adapters.trust_store import TrustStore
from adapters.xml_hardened import DEFAULT_LIMITS, XmlLimits, parse_xml
from adapters.xsd import CompiledSchema

NS = "urn:thads:envelope:1"
DS = "http://www.w3.org/2000/09/xmldsig#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
ENVELOPED = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
SCHEMA_PATH = Path(__file__).with_name("schemas") / "thads-envelope-1.xsd"

_ALLOWED_TRANSFORMS = {ENVELOPED, EXC_C14N}

_HEADER_ORDER = (("message_id", "MessageId"), ("correlation_id", "CorrelationId"), ("from_agency", "From"),
                 ("to_agency", "To"), ("service", "Service"), ("operation", "Operation"), ("created", "Created"),
                 ("expires", "Expires"), ("case_ref", "CaseRef"), ("officer", "Officer"), ("purpose", "Purpose"),
                 ("request_hash", "RequestHash"))


@dataclass(frozen=True)
class EnvelopeFields:
    """The header of an envelope; the hub's pydantic ``EnvelopeHeader`` mirrors it."""

    message_id: str
    from_agency: str
    to_agency: str
    service: str
    operation: str
    created: dt.datetime
    expires: dt.datetime
    correlation_id: str | None = None
    case_ref: str | None = None
    officer: str | None = None
    purpose: str | None = None
    request_hash: str | None = None


def _q(local: str) -> str:
    return f"{{{NS}}}{local}"


def _xml_time(value: dt.datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("envelope times must carry a time zone")
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_envelope(header: EnvelopeFields, body: etree._Element) -> etree._Element:
    """An unsigned Envelope holding ``body`` (the business document, in its own namespace)."""
    root = etree.Element(_q("Envelope"), nsmap={"env": NS})
    head = etree.SubElement(root, _q("Header"))
    for attr, tag in _HEADER_ORDER:
        value = getattr(header, attr)
        if value is None:
            continue
        etree.SubElement(head, _q(tag)).text = _xml_time(value) if isinstance(value, dt.datetime) else str(value)
    etree.SubElement(root, _q("Body")).append(body)
    return root


def read_header(envelope: etree._Element) -> EnvelopeFields:
    head = envelope.find(_q("Header"))
    if head is None:
        raise Refusal("the envelope has no Header", code="SCHEMA_INVALID", rule="header")
    values: dict[str, object] = {}
    for attr, tag in _HEADER_ORDER:
        el = head.find(_q(tag))
        if el is None or el.text is None:
            continue
        text = el.text.strip()
        values[attr] = dt.datetime.fromisoformat(text) if tag in ("Created", "Expires") else text
    names = {f.name for f in fields(EnvelopeFields)}
    return EnvelopeFields(**{k: v for k, v in values.items() if k in names})  # type: ignore[arg-type]


def canonical_hash(element: etree._Element) -> str:
    """SHA-256 over the exclusive canonical form: the same for every serialisation of the same XML."""
    return hashlib.sha256(etree.tostring(element, method="c14n", exclusive=True)).hexdigest()


class EnvelopeSigner:
    """Signs envelopes for one agency. Build it once: the key object is reused for every signature."""

    def __init__(self, key: PrivateKey, cert: x509.Certificate) -> None:
        if isinstance(key, rsa.RSAPrivateKey):
            method = SignatureMethod.RSA_SHA256
        elif isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1):
            method = SignatureMethod.ECDSA_SHA256
        else:
            raise ValueError("only RSA and EC P-256 keys sign envelopes")
        self.key = key
        self.cert = cert
        self.agency = agency_of(cert)
        self._signer = InMemorySigner(signature_algorithm=method, digest_algorithm=DigestAlgorithm.SHA256,
                                      c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0)
        # The KeyInfo signxml would build from the certificate on every signature (PEM export, header strip,
        # three elements: a tenth of a signature's own cost), built once; each signature gets a copy, since
        # signxml moves the element into the tree it signs. The bytes are the same (tested).
        self._key_info = etree.Element(f"{{{DS}}}KeyInfo", nsmap={"ds": DS})
        etree.SubElement(etree.SubElement(self._key_info, f"{{{DS}}}X509Data"), f"{{{DS}}}X509Certificate").text = (
            strip_pem_header(cert.public_bytes(serialization.Encoding.PEM)))

    @classmethod
    def from_key_dir(cls, key_dir: Path, agency: str) -> EnvelopeSigner:
        return cls(load_key(key_dir / f"{agency}.key"), load_cert(key_dir / f"{agency}.pem"))

    def sign(self, envelope: etree._Element) -> etree._Element:
        return self._signer.sign(envelope, key=self.key, cert=[self.cert], key_info=copy.deepcopy(self._key_info))

    def sign_bytes(self, envelope: etree._Element) -> bytes:
        return etree.tostring(self.sign(envelope), xml_declaration=True, encoding="UTF-8")


@dataclass(frozen=True)
class VerifiedEnvelope:
    header: EnvelopeFields
    body: etree._Element  # the business document, taken from the signed XML only
    signer: str  # agency id bound to the certificate
    certificate_fingerprint: str
    payload_hash: str  # canonical hash of the body document
    envelope_hash: str  # canonical hash of the whole signed envelope as received


def _expect_config() -> SignatureConfiguration:
    return SignatureConfiguration(
        require_x509=True, location="./", expect_references=1,
        signature_methods=frozenset({SignatureMethod.RSA_SHA256, SignatureMethod.ECDSA_SHA256}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
        default_reference_c14n_method=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )


def _bad(detail: str, rule: str) -> Refusal:
    return Refusal(detail, code="SIGNATURE_INVALID", rule=rule)


class EnvelopeVerifier:
    def __init__(self, trust: TrustStore, *, schema: CompiledSchema | None = None,
                 limits: XmlLimits = DEFAULT_LIMITS, clock_skew: dt.timedelta = dt.timedelta(minutes=5)) -> None:
        self.trust = trust
        self.schema = schema or CompiledSchema.load(SCHEMA_PATH)
        self.limits = limits
        self.clock_skew = clock_skew
        self._config = _expect_config()

    def verify(self, data: bytes, *, expected_to: str | None = None,
               now: dt.datetime | None = None) -> VerifiedEnvelope:
        return self.verify_tree(parse_xml(data, self.limits), expected_to=expected_to, now=now)

    def verify_tree(self, root: etree._Element, *, expected_to: str | None = None, now: dt.datetime | None = None,
                    schema_checked: bool = False) -> VerifiedEnvelope:
        """:meth:`verify` of an envelope already parsed: ``root`` must come from :func:`parse_xml` (the whole
        document, or the one element of a SOAP Body that was parsed with it), never from a tree the hub built
        or another parser read. Saves serialising the element and parsing it again, twice hardened.
        ``schema_checked``: the caller validated ``root`` against this verifier's envelope schema already."""
        now = now or dt.datetime.now(dt.UTC)
        if root.tag != _q("Envelope"):
            raise Refusal(f"expected env:Envelope, got {root.tag}", code="SCHEMA_INVALID", rule="root_element")
        if not schema_checked:
            self.schema.validate(root)
        cert, claimed = self._vet_shape(root)
        self.trust.check(cert, claimed, now)
        try:
            result = InMemoryVerifier().verify(root, x509_cert=cert, expect_config=self._config)
        except (InvalidSignature, InvalidInput) as exc:
            raise _bad(f"signature check failed: {exc}", "cryptographic") from None
        if isinstance(result, list):  # expect_references=1 makes this unreachable; keep mypy and us honest
            raise _bad("more than one signed reference", "reference_count")
        signed = result.signed_xml
        if signed is None or signed.tag != _q("Envelope"):
            raise _bad("the signed element is not the Envelope", "signed_element")
        header = read_header(signed)
        if header.from_agency != claimed:
            raise _bad("the signed From differs from the one checked", "from_mismatch")
        if expected_to is not None and header.to_agency != expected_to:
            raise Refusal(f"message addressed to {header.to_agency}, not {expected_to}", code="REQUEST_INVALID",
                          rule="addressee")
        check_window(header, now, self.clock_skew)
        body_el = signed.find(_q("Body"))
        if body_el is None or len(body_el) != 1:
            raise Refusal("the signed Body must hold exactly one document", code="SCHEMA_INVALID", rule="body")
        return VerifiedEnvelope(header=header, body=body_el[0], signer=claimed,
                                certificate_fingerprint=fingerprint(cert), payload_hash=canonical_hash(body_el[0]),
                                envelope_hash=canonical_hash(root))

    def _vet_shape(self, root: etree._Element) -> tuple[x509.Certificate, str]:
        sigs = list(root.iter(f"{{{DS}}}Signature"))
        if not sigs:
            raise _bad("the envelope is not signed", "signature_present")
        if len(sigs) != 1:
            raise _bad("more than one ds:Signature in the document", "signature_count")
        sig = sigs[0]
        if sig.getparent() is not root or root[-1] is not sig:
            raise _bad("ds:Signature must be the last child of env:Envelope", "signature_location")
        if sig.find(f"{{{DS}}}Object") is not None:
            raise _bad("ds:Object is not accepted in an envelope signature", "signature_object")
        signed_info = sig.find(f"{{{DS}}}SignedInfo")
        if signed_info is None:
            raise _bad("no SignedInfo", "signed_info")
        c14n = signed_info.find(f"{{{DS}}}CanonicalizationMethod")
        if c14n is None or c14n.get("Algorithm") != EXC_C14N:
            raise _bad("SignedInfo must use exclusive C14N", "c14n_method")
        refs = signed_info.findall(f"{{{DS}}}Reference")
        if len(refs) != 1:
            raise _bad("exactly one Reference is accepted", "reference_count")
        if refs[0].get("URI") != "":
            raise _bad('the Reference must cover the whole envelope (URI="")', "reference_uri")
        transform_els = list(refs[0].iter(f"{{{DS}}}Transform"))
        transforms = [t.get("Algorithm") for t in transform_els]
        if ENVELOPED not in transforms or not set(transforms) <= _ALLOWED_TRANSFORMS:
            raise _bad("only the enveloped and exclusive C14N transforms are accepted", "transforms")
        # No parameters (an ec:InclusiveNamespaces PrefixList): with one, exclusive C14N renders namespaces the
        # envelope inherits from wherever it sits (a SOAP message), so what is digested would depend on more
        # than the envelope. The hub never writes one; the XSD lets any element through here.
        if any(len(el) for el in (c14n, *transform_els)):
            raise _bad("canonicalisation parameters (InclusiveNamespaces) are not accepted", "transforms")
        cert_els = list(sig.iter(f"{{{DS}}}X509Certificate"))
        if len(cert_els) != 1 or not (cert_els[0].text or "").strip():
            raise _bad("KeyInfo must carry exactly one X.509 certificate", "key_info")
        try:
            cert = x509.load_der_x509_certificate(base64.b64decode("".join(cert_els[0].text.split())))
        except ValueError:
            raise _bad("the KeyInfo certificate cannot be read", "key_info") from None
        from_el = root.find(f"{_q('Header')}/{_q('From')}")
        claimed = (from_el.text or "").strip() if from_el is not None else ""
        if not AGENCY_ID.match(claimed):
            raise Refusal("From is not an agency id", code="SCHEMA_INVALID", rule="from")
        return cert, claimed


def check_window(header: EnvelopeFields, now: dt.datetime, clock_skew: dt.timedelta) -> None:
    """Created/Expires must bracket ``now``, give or take the configured clock skew."""
    if header.expires <= header.created:
        raise Refusal("Expires is not after Created", code="MESSAGE_EXPIRED", rule="window_order")
    if now + clock_skew < header.created:
        raise Refusal("the message was created in the future", code="MESSAGE_EXPIRED", rule="created_future")
    if now - clock_skew > header.expires:
        raise Refusal("the message has expired", code="MESSAGE_EXPIRED", rule="expired")
