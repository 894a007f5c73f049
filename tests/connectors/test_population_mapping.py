"""The population mapping as pure functions: every contract member lands somewhere, the wire models agree
with the published schemas, and the world's citizens map to their own values.

The contract walkers at the top (``contract_members``, ``check_targets``) are shared with
test_postal_connector.py.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from hub.errors import (
    AgencyError,
    AgencyInvalidResponse,
    AgencyNotFound,
    AgencyRejected,
    AgencyUnavailable,
    InvalidValue,
)
from hub.model import (
    Address,
    DeliveryEvent,
    DeliveryStatus,
    Gender,
    Notification,
    NotificationChannel,
    Party,
    SubjectHints,
)
from hub.resilience.context import CallContext
from mappings.population import (
    FIELDS,
    error_from_answer,
    is_token_refused,
    lookup_request,
    old_address,
    parse_lookup,
    parse_lookup_residence,
    parse_search,
    parse_vneid,
    search_request,
    token_error,
    vneid_request,
)
from mappings.population.wire import SCHEMA_MODELS
from sandbox_mocks.population import mock as population_mock
from sandbox_mocks.seed.world import Citizen, World, build_world
from tests.sandbox.test_population_mock import SchemaChecker, assert_model_matches_schema

CONTRACTS = Path(__file__).resolve().parents[2] / "mappings" / "population" / "contracts"
WORLD_SEED, WORLD_SIZE = 7, 500
MODELS: dict[str, type[BaseModel]] = {"Party": Party, "Address": Address, "SubjectHints": SubjectHints,
                                      "DeliveryEvent": DeliveryEvent, "Notification": Notification}


# ============================== contract walkers (shared) ===================================
def _schema_members(schema: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Every member path of a JSON Schema: nested objects and arrays of objects are walked into; a member
    that is a $ref to another schema file is a member here (the file is walked on its own)."""
    for name, sub in schema.get("properties", {}).items():
        here = f"{prefix}/{name}"
        if "properties" in sub:
            yield from _schema_members(sub, here)
        elif sub.get("type") == "array" and "properties" in sub.get("items", {}):
            yield from _schema_members(sub["items"], here)
        else:
            yield here


def _openapi_members(doc: dict[str, Any]) -> Iterator[str]:
    """Header and path parameters (requests, answers, webhooks) and inline form members of an OpenAPI file."""
    operations = [op for item in (*doc.get("paths", {}).values(), *doc.get("webhooks", {}).values())
                  for op in item.values() if isinstance(op, dict)]
    for op in operations:
        for param in op.get("parameters", []):
            if param["in"] in ("header", "path", "query"):
                yield f"{'header' if param['in'] == 'header' else param['in']}/{param['name']}"
        for response in op.get("responses", {}).values():
            for header in response.get("headers", {}):
                yield f"header/{header}"
        for media in op.get("requestBody", {}).get("content", {}).values():
            schema = media.get("schema", {})
            if "$ref" not in schema:
                yield from (f"{op['operationId']}{p}" for p in _schema_members(schema))


def contract_members(contract_dir: Path) -> set[str]:
    """``file#path`` for every member the published contract files name."""
    found: set[str] = set()
    for path in sorted(contract_dir.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        members = _openapi_members(doc) if "openapi" in doc else _schema_members(doc)
        found |= {f"{path.name}#{m}" for m in members}
    return found


def check_targets(fields: dict[str, tuple[str, str]], *, extensions: dict[str, dict[str, str]],
                  arguments: dict[str, Callable[..., Any]], error: AgencyError) -> list[str]:
    """Every declared target is real: a canonical field exists, an extension key is produced by the mapper
    (``extensions``: model -> what it produced), an argument is a parameter of the method that fills it,
    an error attribute is carried by the typed error. Returns the problems."""
    problems = []
    for member, (kind, target) in fields.items():
        if kind == "canonical":
            model, _, field = target.partition(".")
            if model not in MODELS or (field and field not in MODELS[model].model_fields):
                problems.append(f"{member}: {target} is no canonical field")
        elif kind == "extension":
            model, _, rest = target.partition(".extensions[")
            if rest.rstrip("]") not in extensions.get(model, {}):
                problems.append(f"{member}: the mapper does not produce {target}")
        elif kind == "argument":
            owner, _, param = target.rstrip(")").partition("(")
            if owner == "CallContext.case_ref":
                ok = "case_ref" in CallContext.__dataclass_fields__
            else:
                ok = owner in arguments and param in inspect.signature(arguments[owner]).parameters
            if not ok:
                problems.append(f"{member}: {target} is no parameter")
        elif kind == "error":
            attr = target.removeprefix("AgencyError.")
            carried = error.extra.get(attr[6:-1]) if attr.startswith("extra[") else getattr(error, attr, None)
            if carried is None:
                problems.append(f"{member}: the typed error carries no {attr}")
        elif kind not in ("result", "protocol") or not target:
            problems.append(f"{member}: unknown kind {kind!r}")
    return problems


# ============================== fixtures and samples ========================================
@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=WORLD_SEED, citizens=WORLD_SIZE)


def record(c: Citizen) -> dict[str, Any]:
    """The citizen as the mock serves it (its own function, so the two cannot drift)."""
    mock = object.__new__(population_mock.PopulationMock)
    mock.province_names = population_mock.former_province_names()
    return mock.record(c)


def lookup_answer(rec: dict[str, Any]) -> bytes:
    return json.dumps({"KetQua": "TIM_THAY", "CongDan": rec}, ensure_ascii=False).encode()


def fullest(world: World) -> Citizen:
    """A citizen with as many optional members as the world has (old address, CMND, phone, e-mail)."""
    return max(world.citizens, key=lambda c: (bool(c.old_address_text), bool(c.legacy_id), bool(c.phone),
                                              bool(c.email), c.person_id))


def loi(code: str, registry: str, rule: str | None = None) -> bytes:
    return json.dumps({"MaLoi": code, "MoTaLoi": "mô tả", "MaLoiChuan": registry, "QuyTac": rule,
                       "ThoiGian": "01/03/2026 10:00:00"}).encode()


# ============================== coverage and agreement ======================================
def test_every_contract_member_lands_somewhere_and_the_table_names_nothing_else(world: World) -> None:
    members = contract_members(CONTRACTS)
    assert len(members) > 40  # the walk found the contract
    missing = sorted(members - set(FIELDS))
    assert not missing, f"contract members mapped nowhere: {missing}"
    stale = sorted(set(FIELDS) - members)
    assert not stale, f"table entries the contract does not have: {stale}"

    from connectors.population import PopulationConnector

    party = parse_lookup(lookup_answer(record(fullest(world))))
    produced = {"Party": party.extensions, "Address": party.addresses[0].extensions}
    problems = check_targets(FIELDS, extensions=produced,
                             arguments={"notify_vneid": PopulationConnector.notify_vneid},
                             error=error_from_answer(409, loi("CHUA_DONG_Y", "CONFLICT", "vneid_consent")))
    assert not problems, problems


@pytest.mark.parametrize("name", sorted(SCHEMA_MODELS))
def test_the_wire_models_have_the_schemas_members(name: str) -> None:
    schema = json.loads((CONTRACTS / name).read_text(encoding="utf-8"))
    assert_model_matches_schema(SCHEMA_MODELS[name], schema)


def test_request_bodies_validate_against_the_published_schemas_and_the_mock(world: World) -> None:
    checker = SchemaChecker(CONTRACTS)
    c = fullest(world)
    bodies: dict[str, tuple[dict[str, Any], type[BaseModel]]] = {
        "tra-cuu.yeu-cau.schema.json": (lookup_request(c.person_id), population_mock.TraCuuYeuCau),
        "tim-kiem.yeu-cau.schema.json": (search_request(SubjectHints(full_name=c.full_name, birth_date=c.birth_date,
                                                                     province_code="79")),
                                         population_mock.TimKiemYeuCau),
        "thong-bao-vneid.yeu-cau.schema.json": (
            vneid_request(c.person_id, "QD-12/2026", "Thông báo", "Nội dung", case_ref="THADS-79-2026-1",
                          document_url="https://thads.vn/tl/1"), population_mock.ThongBaoVNeIDYeuCau),
    }
    for name, (body, mock_model) in bodies.items():
        assert checker.errors(body, name) == [], name
        mock_model.model_validate_json(json.dumps(body))  # strict, like the mock reads it


def test_answers_built_by_the_mock_validate_against_the_schemas(world: World) -> None:
    checker = SchemaChecker(CONTRACTS)
    for c in world.citizens[:100]:
        assert checker.errors(record(c), "cong-dan.schema.json") == []


# ============================== mapping values ==============================================
def test_every_citizen_of_the_world_maps_to_its_own_values(world: World) -> None:
    for c in world.citizens:
        party = parse_lookup(lookup_answer(record(c)))
        a = c.permanent_address
        assert (party.person_id, party.full_name, party.birth_date) == (c.person_id, c.full_name, c.birth_date)
        assert party.gender == (Gender.FEMALE if c.gender == "female" else Gender.MALE)
        assert party.legacy_id == c.legacy_id
        now = party.addresses[0]
        assert (now.original_text, now.province_code, now.commune, now.street) == (
            a.text, a.province_code, a.commune, a.street)
        assert now.former_district is None
        assert party.extensions["QueQuan.MaTinh"] == c.birth_province_code
        assert party.extensions["DongYNhanThongBaoVNeID"] == ("true" if c.vneid_consent else "false")
        assert party.extensions.get("SoDienThoai") == c.phone
        assert party.extensions.get("Email") == c.email
        if c.old_address_text:
            old = party.addresses[1]
            assert old.original_text == c.old_address_text
            # the former province resolves to the unit it merged into, and the pieces come back out
            assert (old.province_code, old.former_district, old.commune, old.street) == (
                a.province_code, a.former_district, a.commune, a.street)
        else:
            assert len(party.addresses) == 1


def test_the_agencys_spelling_is_kept() -> None:
    rec = record(build_world(seed=WORLD_SEED, citizens=WORLD_SIZE).citizens[0])
    rec["HoVaTen"] = "Nguyễn Thị Hoà"  # old-style tone placement, decomposed
    import unicodedata

    rec["HoVaTen"] = unicodedata.normalize("NFD", rec["HoVaTen"])
    party = parse_lookup(lookup_answer(rec))
    assert party.full_name == unicodedata.normalize("NFC", "Nguyễn Thị Hoà")  # NFC only, tone not moved


@pytest.mark.parametrize(("text", "province", "district", "commune", "street"), [
    ("Số 12, ngõ 5 phố Huế, phường Bạch Mai, quận Hai Bà Trưng, thành phố Hà Nội", "01", "quận Hai Bà Trưng",
     "Phường Bạch Mai", "Số 12, ngõ 5 phố Huế"),
    ("Ấp 3, xã Tân Phú, huyện Cai Lậy, tỉnh Tiền Giang", "82", "huyện Cai Lậy", "Xã Tân Phú", "Ấp 3"),
    ("12 Lê Lợi, phường Bến Thành, quận 1, TP Hồ Chí Minh", "79", "quận 1", "Phường Bến Thành", "12 Lê Lợi"),
    ("Thôn 2, xã Ea Tu, thành phố Buôn Ma Thuột, tỉnh Đắk Lắk", "66", "thành phố Buôn Ma Thuột", "Xã Ea Tu",
     "Thôn 2"),
    ("xã Hòa Phú, huyện Hòa Vang, thành phố Đà Nẵng", "48", "huyện Hòa Vang", "Xã Hòa Phú", None),
    ("Tổ 7, khu phố Ba, Bình Dương", "79", None, None, None),
    ("không rõ địa chỉ", None, None, None, None),
])
def test_an_old_address_keeps_its_text_and_resolves_its_province(text: str, province: str | None,
                                                                 district: str | None, commune: str | None,
                                                                 street: str | None) -> None:
    a = old_address(text)
    assert a.original_text == text
    assert (a.province_code, a.former_district, a.commune, a.street) == (province, district, commune, street)


def test_residence_is_the_current_permanent_address(world: World) -> None:
    c = next(c for c in world.citizens if c.old_address_text)
    address = parse_lookup_residence(lookup_answer(record(c)))
    assert address.original_text == c.permanent_address.text
    assert address.extensions == {"NoiThuongTru.TenTinh": c.permanent_address.province_name}


def test_search_keeps_the_agencys_order_and_checks_its_count(world: World) -> None:
    recs = [record(c) for c in world.citizens[:3]]
    parties = parse_search(json.dumps({"TongSo": 3, "DanhSach": recs}).encode())
    assert [p.person_id for p in parties] == [c.person_id for c in world.citizens[:3]]
    with pytest.raises(AgencyInvalidResponse):
        parse_search(json.dumps({"TongSo": 1, "DanhSach": recs}).encode())


def test_the_vneid_receipt_is_an_accepted_event_in_utc() -> None:
    raw = json.dumps({"MaThongBao": "TB-0123456789ABCDEF", "MaThamChieu": "QD-1", "TrangThai": "DA_TIEP_NHAN",
                      "ThoiGianTiepNhan": "01/03/2026 08:30:00"}).encode()
    receipt = parse_vneid(raw, "QD-1")
    assert receipt.notification_id == "TB-0123456789ABCDEF"
    assert receipt.event.status is DeliveryStatus.ACCEPTED and receipt.event.channel is NotificationChannel.VNEID
    assert receipt.event.at == dt.datetime(2026, 3, 1, 1, 30, tzinfo=dt.UTC)
    with pytest.raises(AgencyInvalidResponse) as exc:
        parse_vneid(raw, "QD-2")
    assert exc.value.rule == "reference_mismatch"


# ============================== answers that break the contract =============================
@pytest.mark.parametrize(("change", "why"), [
    (lambda r: r.update(NgaySinh="31/02/1990"), "a date that does not exist"),
    (lambda r: r.update(NgaySinh="1990-02-01"), "an ISO date"),
    (lambda r: r.update(GioiTinh="3"), "an unknown gender code"),
    (lambda r: r["NoiThuongTru"].update(MaTinh="99"), "a province code that is not one of the 34"),
    (lambda r: r.update(Extra="x"), "an unknown member"),
    (lambda r: r.pop("Email"), "a required member left out"),
    (lambda r: r.update(SoDinhDanh="079" + r["SoDinhDanh"][3:4] + "99" + r["SoDinhDanh"][6:]),
     "an ID whose birth year disagrees with NgaySinh"),
])
def test_a_record_that_breaks_the_contract_is_an_invalid_response(world: World, change: Callable[[dict], Any],
                                                                  why: str) -> None:
    rec = record(world.citizens[1])
    change(rec)
    with pytest.raises(AgencyInvalidResponse) as exc:
        parse_lookup(lookup_answer(rec))
    assert world.citizens[1].person_id[3:] not in exc.value.detail, "a citizen ID leaked into an error"


def test_a_wrong_result_marker_is_an_invalid_response(world: World) -> None:
    body = json.loads(lookup_answer(record(world.citizens[0])))
    body["KetQua"] = "KHONG_TIM_THAY"
    with pytest.raises(AgencyInvalidResponse):
        parse_lookup(json.dumps(body).encode())


# ============================== requests ====================================================
def test_requests_refuse_bad_input_before_anything_is_sent() -> None:
    with pytest.raises(InvalidValue) as exc:
        lookup_request("07920000000")  # 11 digits
    assert exc.value.code == "ID_INVALID"
    with pytest.raises(InvalidValue) as exc:
        search_request(SubjectHints(full_name="Nguyễn Văn An"))
    assert exc.value.rule == "birth_date_required"
    with pytest.raises(InvalidValue) as exc:
        vneid_request("079080000123", "mã có dấu", "t", "n")
    assert exc.value.code == "REQUEST_INVALID"


def test_search_sends_the_date_the_agencys_way_and_leaves_out_an_absent_province() -> None:
    body = search_request(SubjectHints(full_name="Trần Thị Bích", birth_date=dt.date(1985, 3, 7)))
    assert body == {"HoVaTen": "Trần Thị Bích", "NgaySinh": "07/03/1985"}


# ============================== refusals ====================================================
def test_refusals_become_typed_errors() -> None:
    consent = error_from_answer(409, loi("CHUA_DONG_Y", "CONFLICT", "vneid_consent"))
    assert isinstance(consent, AgencyRejected) and consent.rule == "vneid_consent"
    assert consent.extra["agency_code"] == "CHUA_DONG_Y"
    reused = error_from_answer(409, loi("TRUNG_MA_THAM_CHIEU", "CONFLICT", "MaThamChieu"))
    assert isinstance(reused, AgencyRejected) and reused.rule == "reference_reused"
    assert isinstance(error_from_answer(404, loi("KHONG_TIM_THAY", "NOT_FOUND", "SoDinhDanh")), AgencyNotFound)
    down = error_from_answer(503, loi("TAM_NGUNG_DICH_VU", "AGENCY_UNAVAILABLE"))
    assert isinstance(down, AgencyUnavailable) and down.transient
    assert isinstance(error_from_answer(502, b"<html>bad gateway</html>"), AgencyUnavailable)
    assert isinstance(error_from_answer(400, b"{}"), AgencyInvalidResponse)
    purpose = error_from_answer(422, loi("THIEU_MUC_DICH", "PURPOSE_MISSING", "purpose"))
    assert isinstance(purpose, AgencyRejected) and purpose.extra["registry_code"] == "PURPOSE_MISSING"


def test_a_token_refusal_is_told_apart_from_other_401s() -> None:
    assert is_token_refused(401, loi("TOKEN_KHONG_HOP_LE", "AUTH_REQUIRED", "token_expired"))
    assert not is_token_refused(401, loi("CHU_KY_KHONG_HOP_LE", "SIGNATURE_INVALID", "cryptographic"))
    assert not is_token_refused(403, loi("CHUNG_THU_SAI_DON_VI", "CERT_WRONG_AGENCY"))
    bad_client = token_error(401, b'{"error": "invalid_client", "error_description": "wrong secret"}')
    assert isinstance(bad_client, AgencyRejected) and bad_client.rule == "invalid_client"
    assert isinstance(token_error(503, b""), AgencyUnavailable)


def test_a_search_by_birth_year_alone_is_sent_as_the_agency_writes_it() -> None:
    from hub.model.verification import SubjectHints
    from mappings.population.citizen import search_request

    body = search_request(SubjectHints(full_name="Nguyễn Văn Hoà", birth_year=1980, province_code="79"))
    assert body["NgaySinh"] == "1980" and body["MaTinh"] == "79"
