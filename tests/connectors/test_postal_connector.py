"""The VNPost connector against the running sandbox over real HTTP (API key, HMAC-signed answers, S10
numbers, the journey), the webhook mapping on the events the mock really pushes, and the pure mapping:
contract coverage, wire models against the schemas, S10 and HMAC rules.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response

from connectors.postal import PostalConnector
from hub.agencies import AgencyConfig
from hub.errors import (
    AgencyInvalidResponse,
    AgencyNotFound,
    AgencyRejected,
    AgencySignatureInvalid,
    AgencyUnavailable,
    CircuitOpen,
    HubError,
    InvalidValue,
)
from hub.model import Address, DeliveryEvent, DeliveryStatus, NotificationChannel
from mappings.postal import (
    FIELDS,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    VNPOST_STATES,
    create_request,
    error_from_answer,
    event_extensions,
    event_from_webhook,
    parse_status,
    postal_hmac,
    read_webhook,
    s10_check_digit,
    s10_valid,
    verify_postal_hmac,
)
from mappings.postal.shipment import SCHEMA_MODELS
from sandbox_mocks.postal import mock as postal_mock
from sandbox_mocks.seed.world import World, build_world
from tests.conftest import ServedApp
from tests.connectors.test_population_connector import (
    WORLD_SEED,
    WORLD_SIZE,
    Harness,
    Sandbox,
    agency_config,
    call_context,
    make_harness,
    serve_sandbox,
)
from tests.connectors.test_population_mapping import check_targets, contract_members
from tests.sandbox.test_population_mock import SchemaChecker, assert_model_matches_schema, make_key_dir

CONTRACTS = Path(__file__).resolve().parents[2] / "mappings" / "postal" / "contracts"
SECRET = "sandbox-postal-hmac"  # SandboxConfig's default, which sandbox_agencies_config is given too


# ============================== fixtures ====================================================
class Receiver:
    """The hub's webhook endpoint, played by a tiny app that keeps every delivery (headers, raw body)."""

    def __init__(self) -> None:
        self.url = ""
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        self.app = FastAPI()

        @self.app.post("/v1/inbound/postal/events")
        async def events(request: Request) -> Response:
            body = await request.body()
            with self.lock:
                self.deliveries.append((dict(request.headers), body))
            return Response(status_code=204)

    def for_tracking(self, tracking: str) -> list[tuple[dict[str, str], bytes]]:
        with self.lock:
            return [(h, b) for h, b in self.deliveries if json.loads(b)["soHieuBuuGui"] == tracking]


@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_key_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(seed=WORLD_SEED, citizens=WORLD_SIZE)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    with ServedApp(r.app) as served:
        r.url = served.url
        yield r


@pytest.fixture(scope="module")
def sandbox(key_dir: Path, world: World, receiver: Receiver) -> Iterator[Sandbox]:
    yield from serve_sandbox(key_dir, world, hub_url=receiver.url)


@pytest.fixture(autouse=True)
def clean_faults(sandbox: Sandbox) -> Iterator[None]:
    sandbox.reset()
    yield
    sandbox.reset()


@pytest.fixture
def harness(sandbox: Sandbox, tmp_path: Path, redis_prefix: str) -> Harness:
    return make_harness(sandbox, tmp_path, redis_prefix)


@pytest.fixture
def config(sandbox: Sandbox) -> AgencyConfig:
    return agency_config(sandbox, "postal")


def postal(sandbox: Sandbox) -> postal_mock.PostalMock:
    mock = sandbox.mock("postal")
    assert isinstance(mock, postal_mock.PostalMock)
    return mock


def address_of(world: World, i: int = 0) -> Address:
    a = world.citizens[i].permanent_address
    return Address(original_text=a.text, province_code=a.province_code, commune=a.commune, street=a.street)


def reference_with(sandbox: Sandbox, returned: bool) -> str:
    """A fresh reference whose shipment the mock will deliver (or return): fixed by seed and number."""
    mock = postal(sandbox)
    while True:
        reference = f"QD-{uuid.uuid4().hex[:10]}"
        if (mock.outcome(mock.tracking_for(reference)) is not None) == returned:
            return reference


async def journey(c: PostalConnector, tracking: str, steps: int = 3, within_s: float = 5.0) -> list[DeliveryEvent]:
    ends = time.monotonic() + within_s
    while True:
        events = await c.shipment_status(tracking, call_context())
        if len(events) >= steps or time.monotonic() > ends:
            return events
        await asyncio.sleep(0.1)


# ============================== the connector ===============================================
def test_it_is_a_connector_with_its_operations_and_health(harness: Harness, config: AgencyConfig) -> None:
    async def scenario(c: PostalConnector) -> None:
        assert {op.name: op.idempotent for op in c.operations} == {"TaoBuuGui": True, "TraCuuBuuGui": True}
        health = await c.health()
        assert health.ok and health.agency_id == "postal"

    harness.run(PostalConnector, config, scenario)


def test_a_shipment_is_created_once_per_reference(harness: Harness, config: AgencyConfig, sandbox: Sandbox,
                                                  world: World) -> None:
    reference = f"QD-{uuid.uuid4().hex[:10]}"
    citizen = world.citizens[0]

    async def scenario(c: PostalConnector) -> tuple[str, str]:
        args = (reference, citizen.full_name, address_of(world), "12/QĐ-CCTHADS", "Chi cục THADS quận 1")
        first = await c.create_shipment(*args, call_context())
        again = await c.create_shipment(*args, call_context())
        with pytest.raises(AgencyRejected) as exc:
            await c.create_shipment(reference, citizen.full_name, address_of(world), "13/QĐ-CCTHADS",
                                    "Chi cục THADS quận 1", call_context())
        assert exc.value.rule == "reference_reused" and exc.value.extra["agency_code"] == "VNP-409"
        return first, again

    first, again = harness.run(PostalConnector, config, scenario)
    assert first == again and s10_valid(first) and first.startswith("RR") and first.endswith("VN")
    created = [e for e in postal(sandbox).recorder.snapshot()["effects"]
               if e["kind"] == "shipment_created" and e["reference"] == reference]
    assert len(created) == 1 and created[0]["tracking"] == first


@pytest.mark.parametrize("returned", [False, True])
def test_the_journey_maps_to_canonical_delivery_events(harness: Harness, config: AgencyConfig, sandbox: Sandbox,
                                                       world: World, returned: bool) -> None:
    reference = reference_with(sandbox, returned)

    async def scenario(c: PostalConnector) -> tuple[str, list[DeliveryEvent]]:
        tracking = await c.create_shipment(reference, world.citizens[1].full_name, address_of(world, 1),
                                           "7/TB-CCTHADS", "Chi cục THADS", call_context())
        return tracking, await journey(c, tracking)

    tracking, events = harness.run(PostalConnector, config, scenario)
    last = DeliveryStatus.RETURNED if returned else DeliveryStatus.DELIVERED
    assert [e.status for e in events] == [DeliveryStatus.ACCEPTED, DeliveryStatus.IN_TRANSIT, last]
    assert all(e.tracking_number == tracking and e.channel is NotificationChannel.POSTAL for e in events)
    assert [e.at for e in events] == sorted(e.at for e in events)
    outcome = postal(sandbox).outcome(tracking)
    assert events[-1].reason == (outcome[1] if outcome else None)


def test_a_tracking_number_is_checked_before_asking(harness: Harness, config: AgencyConfig,
                                                   sandbox: Sandbox) -> None:
    before = len(sandbox.urls.urls)

    async def scenario(c: PostalConnector) -> None:
        with pytest.raises(InvalidValue) as exc:
            await c.shipment_status("RR123456789VN", call_context())  # wrong check digit
        assert exc.value.rule == "s10_tracking_number"

    harness.run(PostalConnector, config, scenario)
    assert len(sandbox.urls.urls) == before


def test_an_unknown_shipment_is_not_found(harness: Harness, config: AgencyConfig) -> None:
    unknown = postal_mock.s10_number(random.Random(3).randrange(10**8))

    async def scenario(c: PostalConnector) -> None:
        with pytest.raises(AgencyNotFound):
            await c.shipment_status(unknown, call_context())

    harness.run(PostalConnector, config, scenario)


def test_an_address_without_a_province_is_refused_before_sending(harness: Harness, config: AgencyConfig) -> None:
    async def scenario(c: PostalConnector) -> None:
        with pytest.raises(InvalidValue) as exc:
            await c.create_shipment("QD-1", "Nguyễn Văn An", Address(original_text="không rõ"), "1/QĐ", "Bưu cục",
                                    call_context())
        assert exc.value.code == "PROVINCE_UNKNOWN"

    harness.run(PostalConnector, config, scenario)


def test_every_call_is_logged(harness: Harness, config: AgencyConfig, world: World) -> None:
    async def scenario(c: PostalConnector) -> None:
        tracking = await c.create_shipment(f"QD-{uuid.uuid4().hex[:10]}", "Lê Thị Hoa", address_of(world, 2),
                                           "9/QĐ", "Bưu cục", call_context())
        await c.shipment_status(tracking, call_context())

    harness.run(PostalConnector, config, scenario)
    rows = harness.log_rows()
    assert [(r["operation"], r["kind"], r["outcome"]) for r in rows] == [
        ("TaoBuuGui", "request", "ok"), ("TaoBuuGui", "response", "ok"),
        ("TraCuuBuuGui", "request", "ok"), ("TraCuuBuuGui", "response", "ok")]
    assert rows[0]["payload_hash"] and rows[1]["payload_hash"] and rows[1]["latency_ms"] is not None
    assert "sandbox-postal-key" not in json.dumps(rows, default=str)


# ============================== webhooks pushed by the mock =================================
def test_pushed_events_verify_and_map_like_the_status(harness: Harness, config: AgencyConfig, sandbox: Sandbox,
                                                      receiver: Receiver, world: World) -> None:
    reference = reference_with(sandbox, returned=True)

    async def scenario(c: PostalConnector) -> tuple[str, list[DeliveryEvent]]:
        tracking = await c.create_shipment(reference, "Phạm Văn Bình", address_of(world, 3), "5/QĐ", "Bưu cục",
                                           call_context())
        events = await journey(c, tracking)
        ends = time.monotonic() + 5
        while len(receiver.for_tracking(tracking)) < 3 and time.monotonic() < ends:
            await asyncio.sleep(0.05)
        return tracking, events

    tracking, polled = harness.run(PostalConnector, config, scenario)
    pushed = []
    for headers, body in receiver.for_tracking(tracking):
        verify_postal_hmac(SECRET, headers["x-vnpost-timestamp"], body, headers["x-vnpost-signature"],
                           now=time.time())
        pushed.append((read_webhook(body).thuTu, event_from_webhook(body), event_extensions(read_webhook(body))))
    pushed.sort(key=lambda p: p[0])
    assert [p[1] for p in pushed] == polled
    assert pushed[-1][2]["maLyDoHoan"] == postal(sandbox).outcome(tracking)[0]  # type: ignore[index]
    assert {p[2]["maSuKien"] for p in pushed} == {h["x-vnpost-event-id"] for h, _ in receiver.for_tracking(tracking)}

    headers, body = receiver.for_tracking(tracking)[0]
    with pytest.raises(HubError) as exc:
        verify_postal_hmac(SECRET, headers["x-vnpost-timestamp"], body.replace(b"VN", b"VX"),
                           headers["x-vnpost-signature"], now=time.time())
    assert exc.value.code == "SIGNATURE_INVALID" and exc.value.rule == "hmac_mismatch"
    with pytest.raises(HubError) as exc:  # the same event replayed ten minutes later
        verify_postal_hmac(SECRET, headers["x-vnpost-timestamp"], body, headers["x-vnpost-signature"],
                           now=time.time() + 600)
    assert exc.value.rule == "hmac_timestamp_window"


# ============================== faults and credentials ======================================
def test_errors_are_retried_then_unavailable(harness: Harness, config: AgencyConfig, sandbox: Sandbox,
                                             world: World) -> None:
    sandbox.faults("postal", error_rate=1.0)

    async def scenario(c: PostalConnector) -> None:
        with pytest.raises(AgencyUnavailable) as exc:
            await c.create_shipment(f"QD-{uuid.uuid4().hex[:10]}", "Lê An", address_of(world), "1/QĐ", "Bưu cục",
                                    call_context())
        assert exc.value.rule == "http_500" and c.ctx.guard.attempts_made == 3

    harness.run(PostalConnector, config, scenario)


@pytest.mark.parametrize(("knob", "error", "rule"), [
    ("bad_signature_rate", AgencySignatureInvalid, "hmac_mismatch"),
    ("unsigned_rate", AgencySignatureInvalid, "signature_present"),
    ("malformed_rate", AgencyInvalidResponse, "malformed"),
])
def test_answers_that_fail_their_hmac_or_their_form_are_refused(harness: Harness, config: AgencyConfig,
                                                                sandbox: Sandbox, world: World, knob: str,
                                                                error: type[Exception], rule: str) -> None:
    async def scenario(c: PostalConnector) -> None:
        tracking = await c.create_shipment(f"QD-{uuid.uuid4().hex[:10]}", "Lê An", address_of(world), "1/QĐ",
                                           "Bưu cục", call_context())
        sandbox.faults("postal", **{knob: 1.0})
        with pytest.raises(error) as exc:
            await c.shipment_status(tracking, call_context())
        assert getattr(exc.value, "rule", None) == rule

    harness.run(PostalConnector, config, scenario)


def test_an_outage_opens_the_breaker(harness: Harness, config: AgencyConfig, sandbox: Sandbox,
                                     world: World) -> None:
    sandbox.faults("postal", outage=True)

    async def scenario(c: PostalConnector) -> None:
        args = (f"QD-{uuid.uuid4().hex[:10]}", "Lê An", address_of(world), "1/QĐ", "Bưu cục")
        with pytest.raises(AgencyUnavailable) as exc:
            await c.create_shipment(*args, call_context())
        assert exc.value.rule == "http_503"
        with pytest.raises(CircuitOpen):
            await c.create_shipment(*args, call_context())

    harness.run(PostalConnector, config, scenario)


def test_a_wrong_hmac_secret_or_api_key_is_caught(harness: Harness, config: AgencyConfig, world: World) -> None:
    args = (f"QD-{uuid.uuid4().hex[:10]}", "Lê An", address_of(world), "1/QĐ", "Bưu cục")
    wrong_secret = config.model_copy(update={"auth": config.auth.model_copy(update={"hmac_secret": "other"})})
    wrong_key = config.model_copy(update={"auth": config.auth.model_copy(update={"api_key": "other"})})

    async def bad_secret(c: PostalConnector) -> None:
        with pytest.raises(AgencySignatureInvalid):
            await c.create_shipment(*args, call_context())

    async def bad_key(c: PostalConnector) -> None:
        with pytest.raises(AgencyRejected) as exc:
            await c.create_shipment(*args, call_context())
        assert exc.value.extra["agency_code"] == "VNP-401"

    harness.run(PostalConnector, wrong_secret, bad_secret)
    harness.run(PostalConnector, wrong_key, bad_key)


# ============================== the pure mapping ============================================
def _event(**changes: Any) -> dict[str, Any]:
    event = {"maSuKien": "EV-0123456789abcdef0123", "soHieuBuuGui": postal_mock.s10_number(12345678),
             "maThamChieu": "QD-1", "thuTu": 3, "trangThai": "CHUYEN_HOAN", "moTa": "Chuyển hoàn về người gửi",
             "thoiGian": "01/03/2026 08:30:00", "buuCuc": "Bưu cục phát - tỉnh 79", "nguoiNhan": None,
             "maLyDoHoan": "SAI_DIA_CHI", "lyDoHoan": "Sai địa chỉ"}
    event.update(changes)
    return event


def test_every_contract_member_lands_somewhere_and_the_table_names_nothing_else() -> None:
    members = contract_members(CONTRACTS)
    assert len(members) > 30
    assert not sorted(members - set(FIELDS)), "contract members mapped nowhere"
    assert not sorted(set(FIELDS) - members), "table entries the contract does not have"
    delivered = read_webhook(json.dumps(_event(trangThai="DA_PHAT", nguoiNhan="Lê An", maLyDoHoan="SAI_DIA_CHI"))
                             .encode())
    problems = check_targets(FIELDS, extensions={"DeliveryEvent": event_extensions(delivered)},
                             arguments={"create_shipment": PostalConnector.create_shipment,
                                        "shipment_status": PostalConnector.shipment_status},
                             error=error_from_answer(409, json.dumps({
                                 "thanhCong": False, "maLoi": "VNP-409", "thongBao": "trùng",
                                 "maLoiChuan": "CONFLICT", "quyTac": "maThamChieu"}).encode()))
    assert not problems, problems


@pytest.mark.parametrize("name", sorted(SCHEMA_MODELS))
def test_the_wire_models_have_the_schemas_members(name: str) -> None:
    schema = json.loads((CONTRACTS / name).read_text(encoding="utf-8"))
    model = SCHEMA_MODELS[name]
    assert_model_matches_schema(model, schema)
    if "duLieu" in schema["properties"]:
        nested = model.model_fields["duLieu"].annotation
        assert isinstance(nested, type)
        assert_model_matches_schema(nested, schema["properties"]["duLieu"])


def test_every_vnpost_state_has_a_canonical_status() -> None:
    states = set()
    for name in ("su-kien.schema.json", "trang-thai.ket-qua.schema.json", "tao-buu-gui.ket-qua.schema.json"):
        schema = json.loads((CONTRACTS / name).read_text(encoding="utf-8"))
        props = schema["properties"].get("duLieu", schema)["properties"]
        states |= set(props["trangThai"]["enum"])
    assert states == set(VNPOST_STATES)


def test_the_s10_check_digit_agrees_with_the_mock() -> None:
    rng = random.Random(5)
    for serial in [0, 99_999_999, 12_345_678, *(rng.randrange(10**8) for _ in range(2000))]:
        digits = f"{serial:08d}"
        assert s10_check_digit(digits) == postal_mock.s10_check_digit(digits)
        number = postal_mock.s10_number(serial)
        assert s10_valid(number)
        wrong = number[:10] + str((int(number[10]) + 1) % 10) + number[11:]
        assert not s10_valid(wrong)
    assert postal_mock.s10_number(12345678) == "RR123456785VN"


def test_the_create_request_matches_the_schema_and_the_mock(world: World) -> None:
    body = create_request("QD-12/2026", "Nguyễn Văn An", address_of(world), "12/QĐ-CCTHADS", "Chi cục THADS",
                          recipient_phone="0912345678", summary="Quyết định thi hành án",
                          callback_url="https://hub.thads.vn/v1/inbound/postal/events")
    assert SchemaChecker(CONTRACTS).errors(body, "tao-buu-gui.yeu-cau.schema.json") == []
    postal_mock.TaoBuuGuiYeuCau.model_validate_json(json.dumps(body))
    a = world.citizens[0].permanent_address
    assert (body["diaChiNguoiNhan"], body["xaPhuongNhan"], body["maTinhNhan"]) == (a.street, a.commune,
                                                                                  a.province_code)
    text_only = create_request("QD-1", "An", Address.from_text("Ấp 3, xã Tân Phú, huyện Cai Lậy, tỉnh Tiền Giang"),
                               "1/QĐ", "Bưu cục")
    assert text_only["diaChiNguoiNhan"] == "Ấp 3, xã Tân Phú, huyện Cai Lậy, tỉnh Tiền Giang"
    assert text_only["maTinhNhan"] == "82" and "xaPhuongNhan" not in text_only


def test_a_webhook_body_maps_to_a_delivery_event() -> None:
    event = event_from_webhook(json.dumps(_event(), ensure_ascii=False).encode())
    assert event.status is DeliveryStatus.RETURNED and event.reason == "Sai địa chỉ"
    assert event.at.isoformat() == "2026-03-01T01:30:00+00:00"
    assert event.tracking_number == "RR123456785VN" and event.channel is NotificationChannel.POSTAL
    delivered = event_from_webhook(json.dumps(_event(trangThai="DA_PHAT", maLyDoHoan=None, lyDoHoan=None,
                                                     nguoiNhan="Lê An")).encode())
    assert delivered.status is DeliveryStatus.DELIVERED and delivered.reason is None
    for bad in (_event(trangThai="MAT"), _event(thoiGian="31/02/2026 08:00:00"), _event(extra=1),
                _event(soHieuBuuGui="RR123456789VN")):
        with pytest.raises(InvalidValue) as exc:
            event_from_webhook(json.dumps(bad).encode())
        assert exc.value.code == "REQUEST_INVALID"


def test_hmac_rules() -> None:
    body, now = b'{"a":1}', 1_780_000_000.0
    ts = str(int(now))
    good = postal_hmac(SECRET, ts, body)
    assert good == postal_mock.hmac_signature(SECRET, ts, body)
    verify_postal_hmac(SECRET, ts, body, good, now=now)
    verify_postal_hmac(SECRET, ts, body, good, now=now + 299)
    cases = [((SECRET, None, body, good, now), "signature_present"),
             ((SECRET, ts, body, None, now), "signature_present"),
             ((SECRET, "12:00", body, good, now), "hmac_timestamp"),
             ((SECRET, ts, body, good, now + 301), "hmac_timestamp_window"),
             ((SECRET, ts, body, good, now - 301), "hmac_timestamp_window"),
             ((SECRET, ts, body, good.upper(), now), "hmac_form"),
             ((SECRET, ts, body, "sha1=" + good[7:], now), "hmac_form"),
             ((SECRET, ts, b'{"a":2}', good, now), "hmac_mismatch"),
             (("other", ts, body, good, now), "hmac_mismatch"),
             (("", ts, body, good, now), "hmac_secret_missing")]
    for (secret, t, b, sig, at), rule in cases:
        with pytest.raises(HubError) as exc:
            verify_postal_hmac(secret, t, b, sig, now=at)
        assert (exc.value.code, exc.value.rule) == ("SIGNATURE_INVALID", rule)


def test_a_status_answer_about_another_shipment_is_invalid() -> None:
    tracking = postal_mock.s10_number(1)
    answer: dict[str, Any] = {"thanhCong": True, "duLieu": {"soHieuBuuGui": tracking, "maThamChieu": "QD-1",
                                            "trangThai": "DA_NHAN_GUI", "lichSu": [_event(thuTu=1)]}}
    with pytest.raises(AgencyInvalidResponse) as exc:
        parse_status(json.dumps(answer).encode(), tracking)
    assert exc.value.rule == "tracking_mismatch"
    assert parse_status(json.dumps({**answer, "duLieu": {**answer["duLieu"], "lichSu": []}}).encode(),
                        tracking) == []


def test_headers_are_the_contracts() -> None:
    doc = json.loads((CONTRACTS / "openapi.json").read_text(encoding="utf-8"))
    names = {p["name"] for p in doc["webhooks"]["suKienBuuGui"]["post"]["parameters"]}
    assert names == {TIMESTAMP_HEADER, SIGNATURE_HEADER}
