"""JSON exchanges: JWS with a detached payload and the envelope fields as protected claims."""

from __future__ import annotations

import base64
import json

import pytest

from adapters.jws_envelope import JwsSigner, JwsVerifier
from adapters.refusal import Refusal
from tests.trust.conftest import Pki, header

PAYLOAD = json.dumps({"SoDinhDanh": "087084000999", "HoVaTen": "Nguyễn Văn Hoà"}, ensure_ascii=False).encode()


def _signer(pki: Pki, agency: str) -> JwsSigner:
    s = pki.signer(agency)
    return JwsSigner(s.key, s.cert)


@pytest.mark.parametrize("agency", ["population", "hub"])  # ES256 and RS256
def test_detached_jws_round_trip(pki: Pki, agency: str) -> None:
    token = _signer(pki, agency).sign(header(agency), PAYLOAD)
    assert token.split(".")[1] == ""  # the payload is detached
    verified = JwsVerifier(pki.trust()).verify(token, PAYLOAD)
    assert verified.signer == agency and verified.header.case_ref == "THADS-82-2024-0001"


def test_changed_payload_is_refused(pki: Pki) -> None:
    token = _signer(pki, "population").sign(header("population"), PAYLOAD)
    with pytest.raises(Refusal) as caught:
        JwsVerifier(pki.trust()).verify(token, PAYLOAD.replace(b"087084000999", b"087084000998"))
    assert (caught.value.code, caught.value.rule) == ("SIGNATURE_INVALID", "cryptographic")


def test_changed_claims_are_refused(pki: Pki) -> None:
    token = _signer(pki, "population").sign(header("population"), PAYLOAD)
    head, _, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    claims["env"]["purpose"] = "Tò mò"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(Refusal) as caught:
        JwsVerifier(pki.trust()).verify(f"{forged}..{sig}", PAYLOAD)
    assert caught.value.rule == "cryptographic"


def test_alg_none_and_hmac_are_refused(pki: Pki) -> None:
    token = _signer(pki, "population").sign(header("population"), PAYLOAD)
    head, _, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    for alg in ("none", "HS256"):
        claims["alg"] = alg
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        with pytest.raises(Refusal) as caught:
            JwsVerifier(pki.trust()).verify(f"{forged}..{sig}", PAYLOAD)
        assert caught.value.rule == "algorithm"


def test_wrong_agency_certificate_in_jws(pki: Pki) -> None:
    token = _signer(pki, "bank-970418").sign(header("population"), PAYLOAD)
    with pytest.raises(Refusal) as caught:
        JwsVerifier(pki.trust()).verify(token, PAYLOAD)
    assert caught.value.code == "CERT_WRONG_AGENCY"
