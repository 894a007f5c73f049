"""The JSON form of the signed envelope: a JWS (joserfc) with a detached payload.

The JSON body travels as is (HTTP body); the JWS travels beside it (a header) and carries the envelope
fields as protected header claims, so the same header that an XML envelope signs is signed here too.
Only RS256 and ES256 are accepted, the signer's certificate comes in ``x5c`` (exactly one) and goes
through the same trust store as XML signatures.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey
from joserfc.registry import HeaderParameter

from adapters.envelope import AGENCY_ID, EnvelopeFields, check_window
from adapters.pki import PrivateKey, fingerprint
from adapters.refusal import Refusal
from adapters.trust_store import TrustStore

ALGORITHMS = ("RS256", "ES256")
TYP = "thads-envelope+jws"


def _is_object(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")


class _EnvelopeRegistry(jws.JWSRegistry):
    # joserfc caps headers at 512 bytes by default; ours carry a certificate (x5c) and the envelope
    # fields, so a few kilobytes. The payload is checked by the HTTP layer's body limit.
    max_header_length = 8192
    max_payload_length = 5 * 1024 * 1024


REGISTRY = _EnvelopeRegistry(
    header_registry={"env": HeaderParameter("THADS envelope fields", _is_object, required=True)},
    algorithms=list(ALGORITHMS))


def _jwk(key: PrivateKey | rsa.RSAPublicKey | ec.EllipticCurvePublicKey) -> RSAKey | ECKey:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        return RSAKey.import_key(key)
    return ECKey.import_key(key)


def _fields_json(fields: EnvelopeFields) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in asdict(fields).items():
        if value is None:
            continue
        out[name] = value.astimezone(dt.UTC).isoformat(timespec="milliseconds") if isinstance(
            value, dt.datetime) else value
    return out


class JwsSigner:
    def __init__(self, key: PrivateKey, cert: x509.Certificate) -> None:
        self.alg = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
        self._jwk = _jwk(key)  # converted once: the conversion costs more than the signature
        self._x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()

    def sign(self, fields: EnvelopeFields, payload: bytes) -> str:
        protected = {"alg": self.alg, "typ": TYP, "x5c": [self._x5c], "env": _fields_json(fields)}
        token = jws.serialize_compact(protected, payload, self._jwk, registry=REGISTRY)
        return str(jws.detach_content(token))


@dataclass(frozen=True)
class VerifiedJws:
    header: EnvelopeFields
    signer: str
    certificate_fingerprint: str
    payload_hash: str


def _bad(detail: str, rule: str) -> Refusal:
    return Refusal(detail, code="SIGNATURE_INVALID", rule=rule)


def _b64url_json(segment: str) -> dict[str, Any]:
    padded = segment + "=" * (-len(segment) % 4)
    value = json.loads(base64.urlsafe_b64decode(padded))
    if not isinstance(value, dict):
        raise ValueError("header is not an object")
    return value


class JwsVerifier:
    def __init__(self, trust: TrustStore, clock_skew: dt.timedelta = dt.timedelta(minutes=5)) -> None:
        self.trust = trust
        self.clock_skew = clock_skew

    def verify(self, token: str, payload: bytes, *, now: dt.datetime | None = None) -> VerifiedJws:
        now = now or dt.datetime.now(dt.UTC)
        parts = token.split(".")
        if len(parts) != 3 or parts[1] != "":
            raise _bad("expected a compact JWS with a detached payload (header..signature)", "jws_form")
        try:
            protected = _b64url_json(parts[0])
        except ValueError:
            raise _bad("the JWS header cannot be read", "jws_header") from None
        if protected.get("alg") not in ALGORITHMS:
            raise _bad(f"algorithm {protected.get('alg')!r} is not accepted", "algorithm")
        x5c = protected.get("x5c")
        if not isinstance(x5c, list) or len(x5c) != 1:
            raise _bad("x5c must carry exactly one certificate", "key_info")
        try:
            cert = x509.load_der_x509_certificate(base64.b64decode(x5c[0]))
            fields = _parse_fields(protected.get("env"))
        except (ValueError, TypeError, KeyError):
            raise _bad("the certificate or the envelope claims cannot be read", "jws_header") from None
        self.trust.check(cert, fields.from_agency, now)
        public = cert.public_key()
        if not isinstance(public, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            raise _bad("unsupported key type", "algorithm")
        try:
            jws.deserialize_compact(token, _jwk(public), registry=REGISTRY, payload=payload)
        except JoseError as exc:
            raise _bad(f"signature check failed: {exc.error}", "cryptographic") from None
        check_window(fields, now, self.clock_skew)
        return VerifiedJws(header=fields, signer=fields.from_agency, certificate_fingerprint=fingerprint(cert),
                           payload_hash=hashlib.sha256(payload).hexdigest())


def _parse_fields(raw: object) -> EnvelopeFields:
    if not isinstance(raw, dict):
        raise ValueError("env claims missing")
    known = set(EnvelopeFields.__dataclass_fields__)
    if not set(raw) <= known:
        raise ValueError(f"unknown envelope claims {sorted(set(raw) - known)}")
    values = dict(raw)
    for name in ("created", "expires"):
        values[name] = dt.datetime.fromisoformat(values[name])
        if values[name].tzinfo is None:
            raise ValueError("envelope times need a zone")
    for name in ("from_agency", "to_agency"):
        if not AGENCY_ID.match(str(values.get(name, ""))):
            raise ValueError(f"{name} is not an agency id")
    return EnvelopeFields(**values)
