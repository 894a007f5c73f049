"""The VNPost mock over real HTTP: S10 tracking numbers, HMAC-signed answers, and delivery events pushed
to a receiver with retries, duplicates and shuffled order when the faults ask for them."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from sandbox_mocks.framework.callbacks import RetryPolicy
from sandbox_mocks.postal.mock import PostalMock, TaoBuuGuiYeuCau, s10_check_digit, s10_number, s10_valid
from tests.conftest import ServedApp
from tests.sandbox.test_population_mock import (
    CONTRACTS,
    SchemaChecker,
    assert_model_matches_schema,
    make_key_dir,
    serve,
)

SECRET = "test-hmac-secret"
API_KEY = "test-api-key"
NATURAL = ["DA_NHAN_GUI", "DANG_VAN_CHUYEN"]
FINAL = {"DA_PHAT", "CHUYEN_HOAN"}
EVENT_DELAY = 0.05


def expected_check_digit(serial: str) -> int:
    """The DOMAIN.md rule, written again independently of the mock."""
    total = sum(int(d) * w for d, w in zip(serial, (8, 6, 4, 2, 3, 5, 9, 7), strict=True))
    c = 11 - total % 11
    return 0 if c == 10 else 5 if c == 11 else c


def hmac_ok(headers: httpx.Headers | dict[str, str], body: bytes, *, tolerance_s: int = 300) -> bool:
    """What the hub's inbound endpoint must do: timestamp fresh, HMAC over timestamp + "." + body."""
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp, signature = lowered.get("x-vnpost-timestamp"), lowered.get("x-vnpost-signature", "")
    if timestamp is None or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance_s:
        return False
    mac = hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature, f"sha256={mac}")


class Receiver:
    """The hub's postal webhook stand-in: records each delivery; fails the first ``fail_first`` calls."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.calls = 0
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        self.app = FastAPI()

        @self.app.post("/v1/inbound/postal/events")
        async def events(request: Request) -> JSONResponse:
            body = await request.body()
            with self.lock:
                self.calls += 1
                if self.calls <= self.fail_first:
                    return JSONResponse({"error": "try later"}, status_code=503)
                self.got.append((dict(request.headers), body))
            return JSONResponse({"ok": True})

    def events(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for _, body in self.got]

    def of(self, tracking: str) -> list[dict[str, Any]]:
        return [e for e in self.events() if e["soHieuBuuGui"] == tracking]


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def shipment(reference: str, **changes: Any) -> dict[str, Any]:
    return {"maThamChieu": reference, "tenNguoiNhan": "Nguyễn Thị Hoà", "diaChiNguoiNhan": "Số 12 đường Lê Lợi",
            "xaPhuongNhan": "phường Bến Thành", "maTinhNhan": "79", "soDienThoaiNhan": "0912345678",
            "soHieuVanBan": "123/QĐ-CCTHADS", "trichYeu": "Quyết định thi hành án",
            "buuCucGui": "Chi cục THADS khu vực 1 - TP Hồ Chí Minh", **changes}


# ============================== fixtures ====================================================
@pytest.fixture(scope="module")
def key_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_key_dir(tmp_path_factory)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    r = Receiver()
    with ServedApp(r.app) as served:
        yield r, f"{served.url}/v1/inbound/postal/events"


@pytest.fixture
def postal(key_dir: Path, receiver: tuple[Receiver, str]) -> PostalMock:
    return PostalMock(key_dir=key_dir, api_key=API_KEY, hmac_secret=SECRET, callback_url=receiver[1],
                      event_delay_s=EVENT_DELAY, retry=RetryPolicy(backoff_s=0.05, max_backoff_s=0.2), seed=7)


@pytest.fixture
def client(postal: PostalMock) -> Iterator[httpx.Client]:
    with serve(postal) as (served, _), httpx.Client(base_url=served.url, headers={"X-API-Key": API_KEY},
                                                     timeout=10) as http:
        yield http


def create(client: httpx.Client, body: dict[str, Any]) -> str:
    response = client.post("/postal/v1/buu-gui", json=body)
    assert response.status_code in (200, 201), response.text
    assert hmac_ok(response.headers, response.content)
    return str(response.json()["duLieu"]["soHieuBuuGui"])


def reference_with(postal: PostalMock, returned: bool, prefix: str = "REF") -> str:
    """A sender reference whose shipment the seed sends back (or delivers)."""
    return next(f"{prefix}-{n}" for n in range(10_000)
                if (postal.outcome(postal.tracking_for(f"{prefix}-{n}")) is not None) is returned)


# ============================== S10 =========================================================
def test_s10_check_digit_for_many_numbers() -> None:
    assert s10_number(12345678) == "RR123456785VN"
    rng = random.Random(2026)
    serials = [f"{rng.randrange(10**8):08d}" for _ in range(5000)] + ["00000000", "99999999"]
    seen = set()
    for serial in serials:
        assert s10_check_digit(serial) == expected_check_digit(serial)
        number = s10_number(int(serial))
        assert s10_valid(number) and number == f"RR{serial}{expected_check_digit(serial)}VN"
        wrong = number[:10] + str((int(number[10]) + 1) % 10) + "VN"
        assert not s10_valid(wrong)
        seen.add(11 - sum(int(d) * w for d, w in zip(serial, (8, 6, 4, 2, 3, 5, 9, 7), strict=True)) % 11)
    assert {10, 11} <= seen  # the two special cases (-> 0 and -> 5) were exercised
    for bad in ("RR12345678VN", "rr123456785VN", "RR1234567855VN", "RR12345678XVN"):
        assert not s10_valid(bad)


# ============================== create and status ===========================================
def test_create_is_idempotent_by_reference_and_signed(client: httpx.Client, postal: PostalMock) -> None:
    first = client.post("/postal/v1/buu-gui", json=shipment("QD-0001"))
    assert first.status_code == 201 and hmac_ok(first.headers, first.content)
    tracking = first.json()["duLieu"]["soHieuBuuGui"]
    assert s10_valid(tracking) and tracking.startswith("RR") and tracking.endswith("VN")

    again = client.post("/postal/v1/buu-gui", json=shipment("QD-0001"))
    assert again.status_code == 200 and again.json()["duLieu"]["soHieuBuuGui"] == tracking
    created = [e for e in postal.recorder.snapshot()["effects"] if e["kind"] == "shipment_created"]
    assert [e["tracking"] for e in created] == [tracking]

    clash = client.post("/postal/v1/buu-gui", json=shipment("QD-0001", tenNguoiNhan="Người khác"))
    assert clash.status_code == 409 and clash.json()["maLoi"] == "VNP-409"
    assert hmac_ok(clash.headers, clash.content)


def test_requests_need_the_api_key(client: httpx.Client) -> None:
    response = client.post("/postal/v1/buu-gui", json=shipment("QD-KEY"), headers={"X-API-Key": "wrong"})
    assert response.status_code == 401
    assert (response.json()["maLoi"], response.json()["maLoiChuan"]) == ("VNP-401", "AUTH_REQUIRED")
    missing = httpx.post(f"{client.base_url}/postal/v1/buu-gui", json=shipment("QD-KEY"))
    assert missing.status_code == 401 and missing.json()["quyTac"] == "api_key_missing"
    assert httpx.get(f"{client.base_url}/postal/v1/buu-gui/RR123456785VN").status_code == 401


def test_status_by_tracking_number(client: httpx.Client, receiver: tuple[Receiver, str]) -> None:
    tracking = create(client, shipment("QD-STATUS"))
    wait_until(lambda: len(receiver[0].of(tracking)) == 3)
    response = client.get(f"/postal/v1/buu-gui/{tracking}")
    assert response.status_code == 200 and hmac_ok(response.headers, response.content)
    data = response.json()["duLieu"]
    assert [e["trangThai"] for e in data["lichSu"]][:2] == NATURAL and data["trangThai"] in FINAL
    assert data["lichSu"] == sorted(receiver[0].of(tracking), key=lambda e: e["thuTu"])

    bad_digit = tracking[:10] + str((int(tracking[10]) + 1) % 10) + "VN"
    assert client.get(f"/postal/v1/buu-gui/{bad_digit}").json()["maLoi"] == "VNP-400"
    unknown = next(s10_number(n) for n in range(10**8) if s10_number(n) != tracking)
    assert client.get(f"/postal/v1/buu-gui/{unknown}").status_code == 404


# ============================== delivery events =============================================
def test_events_arrive_in_order_with_a_valid_hmac(client: httpx.Client, postal: PostalMock,
                                                  receiver: tuple[Receiver, str]) -> None:
    checker = SchemaChecker(CONTRACTS / "postal" / "contracts")
    delivered = create(client, shipment(reference_with(postal, returned=False)))
    returned = create(client, shipment(reference_with(postal, returned=True)))
    got = receiver[0]
    wait_until(lambda: len(got.of(delivered)) == 3 and len(got.of(returned)) == 3)

    for headers, body in got.got:
        assert hmac_ok(headers, body), headers
        assert not hmac_ok({**headers, "x-vnpost-timestamp": str(int(time.time()) - 3600)}, body)  # replay window
        event = json.loads(body)
        assert headers["x-vnpost-event-id"] == event["maSuKien"]
        assert checker.errors(event, "su-kien.schema.json") == []

    assert [e["trangThai"] for e in got.of(delivered)] == [*NATURAL, "DA_PHAT"]
    assert got.of(delivered)[-1]["nguoiNhan"] == "Nguyễn Thị Hoà"
    back = got.of(returned)
    assert [e["trangThai"] for e in back] == [*NATURAL, "CHUYEN_HOAN"]
    assert back[-1]["lyDoHoan"] and back[-1]["maLyDoHoan"] in {
        "KHONG_CO_NGUOI_NHAN", "SAI_DIA_CHI", "TU_CHOI_NHAN", "DA_CHUYEN_DI", "HET_THOI_HAN_LUU"}
    assert [e["thuTu"] for e in back] == [1, 2, 3]


def test_outcomes_are_mostly_delivered_and_fixed_by_the_seed(postal: PostalMock, key_dir: Path) -> None:
    numbers = [s10_number(n) for n in range(2000)]
    outcomes = [postal.outcome(n) for n in numbers]
    share = sum(o is None for o in outcomes) / len(outcomes)
    assert 0.80 < share < 0.90
    assert {o[1] for o in outcomes if o} >= {"Không có người nhận", "Sai địa chỉ"}
    twin = PostalMock(key_dir=key_dir, seed=7)
    assert [twin.outcome(n) for n in numbers] == outcomes
    other = PostalMock(key_dir=key_dir, seed=8)
    assert [other.outcome(n) for n in numbers] != outcomes


def test_a_failing_receiver_still_gets_every_event(client: httpx.Client, postal: PostalMock,
                                                   receiver: tuple[Receiver, str]) -> None:
    receiver[0].fail_first = 2
    tracking = create(client, shipment("QD-RETRY"))
    wait_until(lambda: len(receiver[0].of(tracking)) == 3)
    assert [e["thuTu"] for e in receiver[0].of(tracking)] == [1, 2, 3]
    attempts = [e for e in postal.recorder.snapshot()["effects"] if e["kind"] == "callback_attempt"]
    assert [a["outcome"] for a in attempts[:3]] == ["retry", "retry", "delivered"]
    assert [a["attempt"] for a in attempts[:3]] == [1, 2, 3] and attempts[0]["status"] == 503
    retried = [h for h, _ in receiver[0].got if h["x-vnpost-delivery-attempt"] == "3"]
    assert len(retried) == 1


def test_a_receiver_down_for_good_is_given_up_on(key_dir: Path) -> None:
    dead = PostalMock(key_dir=key_dir, api_key=API_KEY, hmac_secret=SECRET, event_delay_s=0.01,
                      callback_url="http://127.0.0.1:9/nobody-listens",
                      retry=RetryPolicy(max_attempts=3, backoff_s=0.01), seed=7)
    with serve(dead) as (served, _):
        response = httpx.post(f"{served.url}/postal/v1/buu-gui", json=shipment("QD-DEAD"),
                              headers={"X-API-Key": API_KEY})
        assert response.status_code == 201

        def attempts() -> list[dict[str, Any]]:
            return [e for e in dead.recorder.snapshot()["effects"] if e["kind"] == "callback_attempt"]

        wait_until(lambda: len(attempts()) == 9)
        assert [a["outcome"] for a in attempts()].count("gave_up") == 3
        assert all(a["error"] for a in attempts())


def test_duplicate_callbacks(client: httpx.Client, postal: PostalMock, receiver: tuple[Receiver, str]) -> None:
    client.put("/postal/_admin/faults", json={"duplicate_callback_rate": 1}).raise_for_status()
    tracking = create(client, shipment("QD-DUP"))
    wait_until(lambda: len(receiver[0].of(tracking)) == 6)
    time.sleep(3 * EVENT_DELAY)
    ids = [e["maSuKien"] for e in receiver[0].of(tracking)]
    assert len(ids) == 6 and all(ids.count(i) == 2 for i in ids)


def test_out_of_order_callbacks(client: httpx.Client, postal: PostalMock, receiver: tuple[Receiver, str]) -> None:
    client.put("/postal/_admin/faults", json={"out_of_order_callbacks": True}).raise_for_status()
    numbers = [create(client, shipment(f"QD-ORDER-{n}")) for n in range(4)]
    wait_until(lambda: all(len(receiver[0].of(t)) == 3 for t in numbers))
    orders = [[e["thuTu"] for e in receiver[0].of(t)] for t in numbers]
    assert any(o != [1, 2, 3] for o in orders)
    assert all(sorted(o) == [1, 2, 3] for o in orders)  # shuffled, never lost


def test_answer_faults_break_the_hmac_or_the_json(client: httpx.Client) -> None:
    client.put("/postal/_admin/faults", json={"unsigned_rate": 1}).raise_for_status()
    unsigned = client.post("/postal/v1/buu-gui", json=shipment("QD-F1"))
    assert unsigned.status_code == 201 and "x-vnpost-signature" not in unsigned.headers
    client.put("/postal/_admin/faults", json={"unsigned_rate": 0, "bad_signature_rate": 1}).raise_for_status()
    bad = client.post("/postal/v1/buu-gui", json=shipment("QD-F2"))
    assert bad.headers["x-vnpost-signature"].startswith("sha256=") and not hmac_ok(bad.headers, bad.content)
    client.put("/postal/_admin/faults", json={"bad_signature_rate": 0, "malformed_rate": 1}).raise_for_status()
    malformed = client.post("/postal/v1/buu-gui", json=shipment("QD-F3"))
    with pytest.raises(json.JSONDecodeError):
        json.loads(malformed.content)


# ============================== contract ====================================================
def test_the_mock_accepts_exactly_what_the_published_schema_accepts(client: httpx.Client) -> None:
    checker = SchemaChecker(CONTRACTS / "postal" / "contracts")
    assert checker.keywords() <= SchemaChecker.KEYWORDS
    assert_model_matches_schema(TaoBuuGuiYeuCau, checker.schemas["tao-buu-gui.yeu-cau.schema.json"])
    base = shipment("QD-SCHEMA")
    bodies: list[Any] = [
        base, {**base, "maThamChieu": "QD-SCHEMA-2", "xaPhuongNhan": None, "urlCallback": None},
        {k: v for k, v in base.items() if k != "tenNguoiNhan"}, {**base, "maTinhNhan": "079"},
        {**base, "soDienThoaiNhan": "+84912345678"}, {**base, "urlCallback": "ftp://x"}, {**base, "tenNguoiNhan": ""},
        {**base, "thuaThem": 1}, {**base, "maTinhNhan": 79}, {**base, "maThamChieu": "QD SCHEMA"}, [],
    ]
    for body in bodies:
        schema_ok = not checker.errors(body, "tao-buu-gui.yeu-cau.schema.json")
        response = client.post("/postal/v1/buu-gui", json=body)
        refused = response.status_code == 400 and response.json()["maLoiChuan"] == "REQUEST_INVALID"
        assert refused is not schema_ok, (body, response.text)
        if schema_ok:
            assert checker.errors(response.json(), "tao-buu-gui.ket-qua.schema.json") == []
        else:
            assert checker.errors(response.json(), "loi.schema.json") == []
    assert client.get("/postal/contracts/openapi.json").json()["webhooks"]
