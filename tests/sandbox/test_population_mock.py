"""The population database + VNeID mock over real HTTP, as the hub's connector will meet it.

The helpers at the top (the hub's side of the exchange, a JSON Schema checker for the keywords the
published contracts use, serving a mock under its prefix) are shared with test_faults.py and
test_postal_mock.py.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import time
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from fastapi import FastAPI
from joserfc import jws
from pydantic import BaseModel
from starlette.types import ASGIApp, Receive, Scope, Send

from adapters.envelope import EnvelopeFields
from adapters.jws_envelope import REGISTRY as JWS_REGISTRY
from adapters.jws_envelope import TYP, JwsSigner, JwsVerifier, VerifiedJws, _fields_json, _jwk
from adapters.pki import issue, load_cert, load_key, root_ca
from adapters.refusal import Refusal
from adapters.trust_store import TrustStore
from hub.agency_ids import sandbox_agencies
from hub.errors import REGISTRY
from hub.trust.pki_init import init_pki
from sandbox_mocks.framework.agency import MockAgency
from sandbox_mocks.framework.rest_agency import STATUS_OF
from sandbox_mocks.population.mock import (
    OP_LOOKUP,
    OP_SEARCH,
    OP_VNEID,
    PopulationMock,
    ThongBaoVNeIDYeuCau,
    TimKiemYeuCau,
    TraCuuYeuCau,
)
from sandbox_mocks.seed.spelling import fold, has_tone_variant, name_key, other_tone_placement
from sandbox_mocks.seed.world import Citizen, World, build_world
from tests.conftest import ServedApp

WORLD_SEED, WORLD_SIZE = 7, 500
CONTRACTS = Path(__file__).resolve().parents[2] / "mappings"
LOOKUP, SEARCH, VNEID = "/population/v1/cong-dan/tra-cuu", "/population/v1/cong-dan/tim-kiem", \
    "/population/v1/vneid/thong-bao"


# ============================== shared helpers ==============================================
def make_key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    key_dir = tmp_path_factory.mktemp("sandbox-pki")
    init_pki(key_dir, sandbox_agencies())
    return key_dir


class UrlLog:
    """ASGI wrapper noting every path and query string the sandbox is asked for."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.urls: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.urls.append(f"{scope['path']}?{scope['query_string'].decode()}")
        await self.app(scope, receive, send)


@contextmanager
def serve(*mocks: MockAgency) -> Iterator[tuple[ServedApp, UrlLog]]:
    """The mocks mounted under their Conventions prefixes in one root app, like the sandbox on 8100."""
    root = FastAPI()
    for mock in mocks:
        root.mount(mock.prefix, mock.build_app())
    log = UrlLog(root)
    with ServedApp(log) as served:
        yield served, log


def dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode()


class HubSide:
    """The hub's half of a population exchange, written out plainly: token, detached JWS, answer check."""

    def __init__(self, base_url: str, key_dir: Path, *, client_id: str = "thads-hub",
                 client_secret: str = "sandbox-secret") -> None:
        self.base_url = base_url
        self.key_dir = key_dir
        self.http = httpx.Client(base_url=base_url, timeout=10)
        self.client_id, self.client_secret = client_id, client_secret
        self.signer = JwsSigner(load_key(key_dir / "hub.key"), load_cert(key_dir / "hub.pem"))
        self.verifier = JwsVerifier(TrustStore.load(key_dir))
        self._token: str | None = None

    def close(self) -> None:
        self.http.close()

    def token_response(self, **form: str) -> httpx.Response:
        data = {"grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self.client_secret, **form}
        return self.http.post("/population/oauth/token", data=data)

    def token(self) -> str:
        if self._token is None:
            response = self.token_response()
            assert response.status_code == 200, response.text
            self._token = str(response.json()["access_token"])
        return self._token

    def fields(self, operation: str = "", **overrides: Any) -> EnvelopeFields:
        now = dt.datetime.now(dt.UTC)
        values: dict[str, Any] = {
            "message_id": str(uuid.uuid4()), "from_agency": "hub", "to_agency": "population",
            "service": "population", "operation": operation, "created": now,
            "expires": now + dt.timedelta(minutes=5), "case_ref": "THADS-79-2026-000123",
            "officer": "Chấp hành viên Lê Văn Tám", "purpose": "Xác minh điều kiện thi hành án"}
        values.update(overrides)
        return EnvelopeFields(**values)

    def request(self, path: str, body: Any, operation: str, *, token: str | None = "auto",
                signer: JwsSigner | None = None, jws: str | None = "auto", content: bytes | None = None,
                headers: dict[str, str] | None = None, env: dict[str, Any] | None = None,
                ) -> tuple[httpx.Request, EnvelopeFields]:
        raw = content if content is not None else dumps(body)
        fields = self.fields(**{"operation": operation, **(env or {})})
        sent = {"Content-Type": "application/json"}
        if token == "auto":
            token = self.token()
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        if jws == "auto":
            jws = (signer or self.signer).sign(fields, raw)
        if jws is not None:
            sent["X-JWS-Signature"] = jws
        sent.update(headers or {})
        return self.http.build_request("POST", path, content=raw, headers=sent), fields

    def post(self, path: str, body: Any, operation: str, **kw: Any) -> httpx.Response:
        request, _ = self.request(path, body, operation, **kw)
        return self.http.send(request)

    def verify(self, response: httpx.Response) -> VerifiedJws:
        token = response.headers.get("X-JWS-Signature")
        if not token:
            raise Refusal("the answer is not signed", code="SIGNATURE_INVALID", rule="signature_present")
        return self.verifier.verify(token, response.content)


class SchemaChecker:
    """JSON Schema (2020-12) for exactly the keywords the published contracts use, so a test can hold
    a mock's behaviour against its schema file without a jsonschema dependency. ``pattern`` follows
    ECMA-262: ``$`` is the end of the string, never before a final newline."""

    KEYWORDS = frozenset({"$schema", "$id", "$ref", "title", "description", "type", "properties", "required",
                          "additionalProperties", "pattern", "minLength", "maxLength", "enum", "const",
                          "minimum", "items", "maxItems"})

    def __init__(self, contract_dir: Path) -> None:
        self.dir = contract_dir
        self.schemas = {p.name: json.loads(p.read_text(encoding="utf-8"))
                        for p in contract_dir.glob("*.schema.json")}

    def keywords(self) -> set[str]:
        found: set[str] = set()

        def walk(node: Any, in_properties: bool = False) -> None:
            if isinstance(node, dict):
                for key, value in node.items():
                    if not in_properties:
                        found.add(key)
                    walk(value, in_properties=key == "properties" and not in_properties)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        for schema in self.schemas.values():
            walk(schema)
        return found

    def errors(self, instance: Any, name: str) -> list[str]:
        out: list[str] = []
        self._check(instance, self.schemas[name], "$", out)
        return out

    def _check(self, value: Any, schema: dict[str, Any], at: str, out: list[str]) -> None:
        if "$ref" in schema:
            self._check(value, self.schemas[schema["$ref"]], at, out)
            return
        if "type" in schema:
            types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
            if not any(self._is(value, t) for t in types):
                out.append(f"{at}: not {types}")
                return
        if "const" in schema and value != schema["const"]:
            out.append(f"{at}: not {schema['const']!r}")
        if "enum" in schema and value not in schema["enum"]:
            out.append(f"{at}: not in enum")
        if isinstance(value, str):
            if "pattern" in schema and not re.search(schema["pattern"].replace("$", r"\Z"), value):
                out.append(f"{at}: does not match {schema['pattern']}")
            if len(value) < schema.get("minLength", 0) or len(value) > schema.get("maxLength", len(value)):
                out.append(f"{at}: length")
        if isinstance(value, int) and not isinstance(value, bool) and value < schema.get("minimum", value):
            out.append(f"{at}: below minimum")
        if isinstance(value, list):
            if len(value) > schema.get("maxItems", len(value)):
                out.append(f"{at}: too many items")
            for i, item in enumerate(value):
                if "items" in schema:
                    self._check(item, schema["items"], f"{at}[{i}]", out)
        if isinstance(value, dict):
            props = schema.get("properties", {})
            out.extend(f"{at}: missing {k}" for k in schema.get("required", []) if k not in value)
            if schema.get("additionalProperties") is False:
                out.extend(f"{at}: unexpected {k}" for k in value if k not in props)
            for key, item in value.items():
                if key in props:
                    self._check(item, props[key], f"{at}.{key}", out)

    @staticmethod
    def _is(value: Any, json_type: str) -> bool:
        return {"object": isinstance(value, dict), "array": isinstance(value, list),
                "string": isinstance(value, str), "boolean": isinstance(value, bool), "null": value is None,
                "integer": isinstance(value, int) and not isinstance(value, bool),
                "number": isinstance(value, int | float) and not isinstance(value, bool)}[json_type]


def assert_model_matches_schema(model: type[BaseModel], schema: dict[str, Any]) -> None:
    """The hand-written pydantic model has the schema's members, and the same required ones."""
    assert set(model.model_fields) == set(schema["properties"])
    assert {n for n, f in model.model_fields.items() if f.is_required()} == set(schema["required"])
    assert schema["additionalProperties"] is False and model.model_config.get("extra") == "forbid"


# ============================== fixtures ====================================================
@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_key_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=WORLD_SEED, citizens=WORLD_SIZE)


@pytest.fixture(scope="module")
def population(key_dir: Path, world: World) -> PopulationMock:
    return PopulationMock(key_dir=key_dir, world=world, seed=WORLD_SEED)


@pytest.fixture(scope="module")
def served(population: PopulationMock) -> Iterator[tuple[ServedApp, UrlLog]]:
    with serve(population) as pair:
        yield pair


@pytest.fixture
def hub(served: tuple[ServedApp, UrlLog], key_dir: Path) -> Iterator[HubSide]:
    side = HubSide(served[0].url, key_dir)
    yield side
    side.close()


@pytest.fixture(scope="module")
def checker() -> SchemaChecker:
    return SchemaChecker(CONTRACTS / "population" / "contracts")


def _first(world: World, **where: Any) -> Citizen:
    return next(c for c in world.citizens if all(getattr(c, k) == v for k, v in where.items()))


# ============================== OAuth2 ======================================================
def test_token_flow_client_credentials(hub: HubSide, population: PopulationMock) -> None:
    wrong = hub.token_response(client_secret="guess")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert hub.token_response(grant_type="password").json()["error"] == "unsupported_grant_type"

    good = hub.token_response()
    assert good.status_code == 200 and good.headers["cache-control"] == "no-store"
    token = good.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] > 0 and len(token["access_token"]) >= 20

    basic = base64.b64encode(b"thads-hub:sandbox-secret").decode()
    via_basic = hub.http.post("/population/oauth/token", data={"grant_type": "client_credentials"},
                              headers={"Authorization": f"Basic {basic}"})
    assert via_basic.status_code == 200

    citizen_id = next(iter(population.world.citizens)).person_id
    ok = hub.post(LOOKUP, {"SoDinhDanh": citizen_id}, OP_LOOKUP, token=token["access_token"])
    assert ok.status_code == 200

    population.tokens[token["access_token"]] = time.monotonic() - 1  # let it expire
    expired = hub.post(LOOKUP, {"SoDinhDanh": citizen_id}, OP_LOOKUP, token=token["access_token"])
    assert expired.status_code == 401 and expired.headers["www-authenticate"].startswith("Bearer")
    assert (expired.json()["MaLoi"], expired.json()["MaLoiChuan"], expired.json()["QuyTac"]) == (
        "TOKEN_KHONG_HOP_LE", "AUTH_REQUIRED", "token_expired")


@pytest.mark.parametrize(("token", "rule"), [(None, "token_missing"), ("not-a-token", "token_unknown")])
def test_calls_without_a_valid_token_are_refused(hub: HubSide, world: World, token: str | None, rule: str) -> None:
    response = hub.post(LOOKUP, {"SoDinhDanh": world.citizens[0].person_id}, OP_LOOKUP, token=token)
    assert response.status_code == 401
    assert (response.json()["MaLoi"], response.json()["MaLoiChuan"], response.json()["QuyTac"]) == (
        "TOKEN_KHONG_HOP_LE", "AUTH_REQUIRED", rule)


# ============================== look-up =====================================================
def test_lookup_returns_the_citizen_in_the_agency_format_with_a_verifiable_jws(
        hub: HubSide, world: World, checker: SchemaChecker) -> None:
    citizen = _first(world, gender="female")
    request, env = hub.request(LOOKUP, {"SoDinhDanh": citizen.person_id}, OP_LOOKUP)
    response = hub.http.send(request)
    assert response.status_code == 200, response.text
    assert checker.errors(response.json(), "tra-cuu.ket-qua.schema.json") == []

    record = response.json()["CongDan"]
    address = citizen.permanent_address
    assert record["SoDinhDanh"] == citizen.person_id and record["HoVaTen"] == citizen.full_name
    assert record["NgaySinh"] == citizen.birth_date.strftime("%d/%m/%Y") and record["GioiTinh"] == "2"
    assert record["NoiThuongTru"] == {"MaTinh": address.province_code, "TenTinh": address.province_name,
                                      "XaPhuong": address.commune, "ChiTiet": address.street,
                                      "DiaChiDayDu": address.text}
    assert record["QueQuan"]["MaTinh"] == citizen.birth_province_code and record["QueQuan"]["TenTinh"]
    assert record["SoCMND"] == citizen.legacy_id and record["NoiThuongTruCu"] == citizen.old_address_text
    assert record["DongYNhanThongBaoVNeID"] is citizen.vneid_consent

    verified = hub.verify(response)
    assert verified.signer == "population"
    assert (verified.header.to_agency, verified.header.correlation_id) == ("hub", env.message_id)
    assert verified.header.operation == OP_LOOKUP and verified.header.case_ref == env.case_ref
    assert verified.header.request_hash == hashlib.sha256(request.content).hexdigest()


def test_male_gender_code_and_legacy_id(hub: HubSide, world: World) -> None:
    citizen = next(c for c in world.citizens if c.gender == "male" and c.legacy_id)
    record = hub.post(LOOKUP, {"SoDinhDanh": citizen.person_id}, OP_LOOKUP).json()["CongDan"]
    assert record["GioiTinh"] == "1" and record["SoCMND"] == citizen.legacy_id


def test_unknown_citizen_is_a_signed_not_found(hub: HubSide, world: World, checker: SchemaChecker) -> None:
    unknown = next(f"079090{n:06d}" for n in range(10**6) if world.citizen(f"079090{n:06d}") is None)
    response = hub.post(LOOKUP, {"SoDinhDanh": unknown}, OP_LOOKUP)
    assert response.status_code == 404
    assert (response.json()["MaLoi"], response.json()["MaLoiChuan"]) == ("KHONG_TIM_THAY", "NOT_FOUND")
    assert checker.errors(response.json(), "loi.schema.json") == []
    assert hub.verify(response).signer == "population"  # "not found" is evidence too


# ============================== search ======================================================
def test_search_finds_namesakes(hub: HubSide, world: World, checker: SchemaChecker) -> None:
    pairs = world.hard_cases["namesakes"]  # (a1, b1, a2, b2...): same name and birth date
    namesakes = [world.citizen(pairs[0]), world.citizen(pairs[1])]
    first = namesakes[0]
    assert first is not None and namesakes[1] is not None
    assert name_key(first.full_name) == name_key(namesakes[1].full_name)
    response = hub.post(SEARCH, {"HoVaTen": first.full_name, "NgaySinh": first.birth_date.strftime("%d/%m/%Y")},
                        OP_SEARCH)
    assert response.status_code == 200, response.text
    assert checker.errors(response.json(), "tim-kiem.ket-qua.schema.json") == []
    found = {r["SoDinhDanh"] for r in response.json()["DanhSach"]}
    assert set(pairs[:2]) <= found and response.json()["TongSo"] == len(found)
    assert hub.verify(response).header.operation == OP_SEARCH

    by_year = hub.post(SEARCH, {"HoVaTen": first.full_name, "NgaySinh": str(first.birth_date.year)}, OP_SEARCH)
    assert set(pairs[:2]) <= {r["SoDinhDanh"] for r in by_year.json()["DanhSach"]}

    province = first.permanent_address.province_code
    narrowed = hub.post(SEARCH, {"HoVaTen": first.full_name, "NgaySinh": str(first.birth_date.year),
                                 "MaTinh": province}, OP_SEARCH).json()["DanhSach"]
    assert first.person_id in {r["SoDinhDanh"] for r in narrowed}
    assert all(r["NoiThuongTru"]["MaTinh"] == province for r in narrowed)


def test_search_ignores_tone_placement_accents_case_and_normalisation(hub: HubSide, world: World) -> None:
    tone_cases = [world.citizen(i) for i in world.hard_cases.get("tone_variants", ())]
    citizen = next(c for c in [*tone_cases, *world.citizens] if c is not None and has_tone_variant(c.full_name))
    dob = citizen.birth_date.strftime("%d/%m/%Y")
    spellings = [other_tone_placement(citizen.full_name), fold(citizen.full_name),
                 unicodedata.normalize("NFD", citizen.full_name), citizen.full_name.upper()]
    for spelling in spellings:
        found = hub.post(SEARCH, {"HoVaTen": spelling, "NgaySinh": dob}, OP_SEARCH).json()["DanhSach"]
        assert citizen.person_id in {r["SoDinhDanh"] for r in found}, spelling


def test_search_with_nobody_matching_is_an_empty_list(hub: HubSide) -> None:
    response = hub.post(SEARCH, {"HoVaTen": "Không Ai Có Tên Này", "NgaySinh": "01/01/1901"}, OP_SEARCH)
    assert response.status_code == 200 and response.json() == {"TongSo": 0, "DanhSach": []}


def test_search_refuses_a_date_that_does_not_exist(hub: HubSide) -> None:
    response = hub.post(SEARCH, {"HoVaTen": "Nguyễn Văn An", "NgaySinh": "31/02/1984"}, OP_SEARCH)
    assert response.status_code == 422
    assert (response.json()["MaLoi"], response.json()["MaLoiChuan"]) == ("NGAY_KHONG_HOP_LE", "DATE_INVALID")


# ============================== VNeID =======================================================
def _notice(citizen: Citizen, reference: str) -> dict[str, Any]:
    return {"SoDinhDanh": citizen.person_id, "MaThamChieu": reference, "TieuDe": "Thông báo thi hành án",
            "NoiDung": "Chi cục THADS thông báo quyết định thi hành án số 123/QĐ-CCTHADS.",
            "MaHoSo": "THADS-79-2026-000123"}


def test_vneid_notification_needs_consent(hub: HubSide, world: World, population: PopulationMock,
                                          checker: SchemaChecker) -> None:
    without = _first(world, vneid_consent=False)
    refused = hub.post(VNEID, _notice(without, "TB-REF-0001"), OP_VNEID)
    assert refused.status_code == 409
    assert (refused.json()["MaLoi"], refused.json()["MaLoiChuan"], refused.json()["QuyTac"]) == (
        "CHUA_DONG_Y", "CONFLICT", "vneid_consent")
    assert checker.errors(refused.json(), "loi.schema.json") == []

    with_consent = _first(world, vneid_consent=True)
    accepted = hub.post(VNEID, _notice(with_consent, "TB-REF-0002"), OP_VNEID)
    assert accepted.status_code == 200, accepted.text
    assert checker.errors(accepted.json(), "thong-bao-vneid.ket-qua.schema.json") == []
    assert hub.verify(accepted).signer == "population"
    again = hub.post(VNEID, _notice(with_consent, "TB-REF-0002"), OP_VNEID)
    assert again.json()["MaThongBao"] == accepted.json()["MaThongBao"]  # asked twice, sent once

    effects = [e for e in population.recorder.snapshot()["effects"] if e["kind"] == "vneid_notification"]
    assert [e["reference"] for e in effects].count("TB-REF-0002") == 1
    assert "TB-REF-0001" not in [e["reference"] for e in effects]
    assert with_consent.person_id not in json.dumps(effects)  # the recorder masks IDs

    other = next(c for c in world.citizens if c.vneid_consent and c.person_id != with_consent.person_id)
    clash = hub.post(VNEID, _notice(other, "TB-REF-0002"), OP_VNEID)
    assert (clash.status_code, clash.json()["MaLoi"]) == (409, "TRUNG_MA_THAM_CHIEU")


# ============================== the hub's signature =========================================
def _refusal(response: httpx.Response) -> tuple[int, str, str, str | None]:
    body = response.json()
    return response.status_code, body["MaLoi"], body["MaLoiChuan"], body["QuyTac"]


def test_missing_jws_is_refused(hub: HubSide, world: World) -> None:
    response = hub.post(LOOKUP, {"SoDinhDanh": world.citizens[0].person_id}, OP_LOOKUP, jws=None)
    assert _refusal(response) == (401, "CHU_KY_KHONG_HOP_LE", "SIGNATURE_INVALID", "signature_present")


def test_jws_over_another_body_is_refused(hub: HubSide, world: World) -> None:
    a, b = world.citizens[0].person_id, world.citizens[1].person_id
    jws = hub.signer.sign(hub.fields(OP_LOOKUP), dumps({"SoDinhDanh": a}))
    response = hub.post(LOOKUP, {"SoDinhDanh": b}, OP_LOOKUP, jws=jws)
    assert _refusal(response) == (401, "CHU_KY_KHONG_HOP_LE", "SIGNATURE_INVALID", "cryptographic")


def test_garbage_jws_is_refused(hub: HubSide, world: World) -> None:
    response = hub.post(LOOKUP, {"SoDinhDanh": world.citizens[0].person_id}, OP_LOOKUP, jws="abc.def.ghi")
    assert _refusal(response)[:3] == (401, "CHU_KY_KHONG_HOP_LE", "SIGNATURE_INVALID")


def test_a_court_certificate_signing_as_the_hub_is_refused(hub: HubSide, world: World, key_dir: Path) -> None:
    court = JwsSigner(load_key(key_dir / "court.key"), load_cert(key_dir / "court.pem"))
    response = hub.post(LOOKUP, {"SoDinhDanh": world.citizens[0].person_id}, OP_LOOKUP, signer=court)
    assert _refusal(response) == (403, "CHUNG_THU_SAI_DON_VI", "CERT_WRONG_AGENCY", "subject_ou")


def test_another_agency_may_not_call(hub: HubSide, world: World, key_dir: Path) -> None:
    court = JwsSigner(load_key(key_dir / "court.key"), load_cert(key_dir / "court.pem"))
    response = hub.post(LOOKUP, {"SoDinhDanh": world.citizens[0].person_id}, OP_LOOKUP, signer=court,
                        env={"from_agency": "court"})
    assert _refusal(response) == (403, "CHUNG_THU_SAI_DON_VI", "CERT_WRONG_AGENCY", "caller")


def test_an_untrusted_hub_certificate_is_refused(hub: HubSide, world: World, key_dir: Path) -> None:
    rogue_key, rogue_ca = root_ca("Rogue Root CA")
    rogue = JwsSigner(*issue(rogue_key, rogue_ca, "hub"))
    response = hub.post(LOOKUP, {"SoDinhDanh": world.citizens[0].person_id}, OP_LOOKUP, signer=rogue)
    assert _refusal(response) == (401, "CHUNG_THU_KHONG_HOP_LE", "CERT_UNTRUSTED", "chain")


@pytest.mark.parametrize(("fields", "expected"), [
    ({"operation": OP_SEARCH}, (400, "DU_LIEU_KHONG_HOP_LE", "REQUEST_INVALID", "operation")),
    ({"to_agency": "land"}, (400, "DU_LIEU_KHONG_HOP_LE", "REQUEST_INVALID", "addressee")),
    ({"purpose": None}, (422, "THIEU_MUC_DICH", "PURPOSE_MISSING", "purpose")),
    ({"case_ref": None}, (422, "THIEU_MUC_DICH", "PURPOSE_MISSING", "purpose")),
    ({"created": dt.datetime.now(dt.UTC) - dt.timedelta(hours=2),
      "expires": dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)},
     (401, "THONG_DIEP_HET_HAN", "MESSAGE_EXPIRED", "expired")),
])
def test_signed_claims_must_fit_the_call(hub: HubSide, world: World, fields: dict[str, Any],
                                         expected: tuple[int, str, str, str]) -> None:
    response = hub.post(LOOKUP, {"SoDinhDanh": world.citizens[0].person_id}, OP_LOOKUP, env=fields)
    assert _refusal(response) == expected


def test_wrong_content_type_and_unknown_route(hub: HubSide, world: World) -> None:
    response = hub.post(LOOKUP, {"SoDinhDanh": world.citizens[0].person_id}, OP_LOOKUP,
                        headers={"Content-Type": "text/plain"})
    assert _refusal(response)[:3] == (415, "DINH_DANG_KHONG_HO_TRO", "UNSUPPORTED_MEDIA_TYPE")
    missing = hub.http.get("/population/v1/khong-co")
    assert (missing.status_code, missing.json()["MaLoi"]) == (404, "KHONG_TIM_THAY")
    wrong_method = hub.http.get("/population/v1/cong-dan/tra-cuu")
    assert (wrong_method.status_code, wrong_method.json()["MaLoiChuan"]) == (405, "METHOD_NOT_ALLOWED")


# ============================== contract ====================================================
def test_citizen_ids_never_appear_in_a_url(hub: HubSide, world: World, served: tuple[ServedApp, UrlLog],
                                           population: PopulationMock) -> None:
    contract = json.loads((CONTRACTS / "population" / "contracts" / "openapi.json").read_text(encoding="utf-8"))
    for path, item in contract["paths"].items():
        assert "{" not in path
        for operation in item.values():
            assert all(p["in"] == "header" for p in operation.get("parameters", []))
    app = population.build_app()
    operation_paths = [r.path for r in app.routes if hasattr(r, "path") and not r.path.startswith(
        ("/_admin", "/contracts", "/openapi", "/docs"))]
    assert operation_paths and all("{" not in p for p in operation_paths)

    citizen = world.citizens[3]
    hub.post(LOOKUP, {"SoDinhDanh": citizen.person_id}, OP_LOOKUP)
    hub.post(SEARCH, {"HoVaTen": citizen.full_name, "NgaySinh": citizen.birth_date.strftime("%d/%m/%Y")},
             OP_SEARCH)
    hub.post(VNEID, _notice(citizen, "TB-URL-1"), OP_VNEID)
    log = served[1].urls
    assert any(u.startswith(VNEID) for u in log)
    every_id = {c.person_id for c in world.citizens} | {c.legacy_id for c in world.citizens if c.legacy_id}
    assert not [u for u in log if any(i in u for i in every_id)]
    assert not [u for u in log if re.search(r"[0-9]{9,}", u)]


def test_contract_files_are_served(hub: HubSide) -> None:
    response = hub.http.get("/population/contracts/openapi.json")
    assert response.status_code == 200 and response.json()["openapi"].startswith("3.1")
    assert hub.http.get("/population/contracts/../../pyproject.toml").status_code == 404


def test_contracts_use_only_checked_keywords(checker: SchemaChecker) -> None:
    assert checker.keywords() <= SchemaChecker.KEYWORDS


def test_request_models_match_the_published_schemas(checker: SchemaChecker) -> None:
    assert_model_matches_schema(TraCuuYeuCau, checker.schemas["tra-cuu.yeu-cau.schema.json"])
    assert_model_matches_schema(TimKiemYeuCau, checker.schemas["tim-kiem.yeu-cau.schema.json"])
    assert_model_matches_schema(ThongBaoVNeIDYeuCau, checker.schemas["thong-bao-vneid.yeu-cau.schema.json"])


def _bodies(world: World) -> list[tuple[str, str, str, Any]]:
    pid = world.citizens[0].person_id
    notice = _notice(world.citizens[0], "TB-SCHEMA")
    lookups: list[Any] = [
        {"SoDinhDanh": pid}, {"SoDinhDanh": pid[:11]}, {"SoDinhDanh": int(pid)}, {"SoDinhDanh": pid + "\n"},
        {"SoDinhDanh": "١٢٣٤٥٦٧٨٩٠١٢"}, {"SoDinhDanh": pid, "HoVaTen": "x"}, {}, [], {"SoDinhDanh": None}]
    searches: list[Any] = [
        {"HoVaTen": "Nguyễn Văn An", "NgaySinh": "1984"},
        {"HoVaTen": "Nguyễn Văn An", "NgaySinh": "01/02/1984", "MaTinh": None},
        {"HoVaTen": "Nguyễn Văn An", "NgaySinh": "01/02/1984", "MaTinh": "79"},
        {"HoVaTen": "N", "NgaySinh": "1984"}, {"HoVaTen": "A" * 101, "NgaySinh": "1984"},
        {"HoVaTen": "Nguyễn Văn An", "NgaySinh": "1984-02-01"},
        {"HoVaTen": "Nguyễn Văn An", "NgaySinh": "01/13/1984"}, {"HoVaTen": "Nguyễn Văn An"},
        {"HoVaTen": "Nguyễn Văn An", "NgaySinh": "1984", "MaTinh": "079"},
        {"HoVaTen": "Nguyễn Văn An", "NgaySinh": 1984}]
    notices: list[Any] = [
        notice, {**notice, "MaHoSo": None, "MaThamChieu": "TB-SCHEMA-2"},
        {k: v for k, v in notice.items() if k != "NoiDung"}, {**notice, "TieuDe": ""},
        {**notice, "MaThamChieu": "có dấu cách"}, {**notice, "DuongDanTaiLieu": "http://x.vn/a.pdf"},
        {**notice, "MaThamChieu": "TB-SCHEMA-3", "DuongDanTaiLieu": "https://x.vn/a.pdf"},
        {**notice, "MaHoSo": "x" * 65}]
    return ([(LOOKUP, OP_LOOKUP, "tra-cuu.yeu-cau.schema.json", b) for b in lookups]
            + [(SEARCH, OP_SEARCH, "tim-kiem.yeu-cau.schema.json", b) for b in searches]
            + [(VNEID, OP_VNEID, "thong-bao-vneid.yeu-cau.schema.json", b) for b in notices])


def test_the_mock_accepts_exactly_what_the_published_schema_accepts(hub: HubSide, world: World,
                                                                    checker: SchemaChecker) -> None:
    for path, operation, schema, body in _bodies(world):
        schema_ok = not checker.errors(body, schema)
        response = hub.post(path, body, operation)
        refused_by_schema = response.status_code == 400 and response.json()["MaLoiChuan"] == "REQUEST_INVALID"
        assert refused_by_schema is not schema_ok, (path, body, response.text)
        if refused_by_schema:
            assert response.json()["QuyTac"] == "schema"
            assert checker.errors(response.json(), "loi.schema.json") == []


def test_not_json_is_refused(hub: HubSide) -> None:
    response = hub.post(LOOKUP, None, OP_LOOKUP, content=b'{"SoDinhDanh": ')
    assert _refusal(response) == (400, "DU_LIEU_KHONG_HOP_LE", "REQUEST_INVALID", "json")


def test_mock_statuses_agree_with_the_hub_registry() -> None:
    assert {code: REGISTRY[code].status for code in STATUS_OF} == STATUS_OF


def test_a_body_too_large_is_refused(hub: HubSide) -> None:
    big = {"HoVaTen": "x" * (1024 * 1024 + 1), "NgaySinh": "1984"}
    response = hub.post(SEARCH, big, OP_SEARCH)
    assert _refusal(response)[:3] == (413, "DU_LIEU_QUA_LON", "BODY_TOO_LARGE")


def test_a_jws_without_its_created_claim_is_a_signature_refusal(hub: HubSide, world: World, key_dir: Path) -> None:
    body = dumps({"SoDinhDanh": world.citizens[0].person_id})
    claims = {k: v for k, v in _fields_json(hub.fields(OP_LOOKUP)).items() if k != "created"}
    protected = {"alg": "RS256", "typ": TYP, "x5c": [base64.b64encode(load_cert(key_dir / "hub.pem").public_bytes(
        serialization.Encoding.DER)).decode()], "env": claims}
    token = jws.serialize_compact(protected, body, _jwk(load_key(key_dir / "hub.key")), registry=JWS_REGISTRY)
    response = hub.post(LOOKUP, None, OP_LOOKUP, content=body, jws=str(jws.detach_content(token)))
    assert response.status_code != 500, "the mock answers its own 500 (INTERNAL) for the adapter's KeyError"
    assert _refusal(response)[:3] == (401, "CHU_KY_KHONG_HOP_LE", "SIGNATURE_INVALID")
