"""Each fault knob does what it says, measured over real HTTP on the population mock."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters.refusal import Refusal
from sandbox_mocks.framework.faults import FaultConfig, FaultInjector
from sandbox_mocks.population.mock import OP_LOOKUP, PopulationMock
from sandbox_mocks.seed.world import World, build_world
from tests.conftest import ServedApp
from tests.sandbox.test_population_mock import LOOKUP, WORLD_SEED, WORLD_SIZE, HubSide, UrlLog, make_key_dir, serve


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
    side.token()  # before any fault: the token endpoint is an operation too
    yield side
    side.http.delete("/population/_admin/faults").raise_for_status()
    side.close()


def set_faults(hub: HubSide, **changes: object) -> dict[str, object]:
    response = hub.http.put("/population/_admin/faults", json=changes)
    response.raise_for_status()
    return dict(response.json())


def lookup(hub: HubSide, world: World) -> httpx.Request:
    """One signed look-up, built once and sent many times (the mock keeps no replay cache)."""
    request, _ = hub.request(LOOKUP, {"SoDinhDanh": world.citizens[0].person_id}, OP_LOOKUP)
    return request


def round_trips(hub: HubSide, request: httpx.Request, n: int, pause_s: float = 0.0) -> list[float]:
    out = []
    for _ in range(n):
        if pause_s:
            time.sleep(pause_s)
        start = time.perf_counter()
        response = hub.http.send(request)
        out.append(time.perf_counter() - start)
        assert response.status_code == 200, response.text
    return out


def test_latency_median_follows_the_knob(hub: HubSide, world: World) -> None:
    request = lookup(hub, world)
    round_trips(hub, request, 20)  # warm up the connection and the code paths
    # The baseline (latency 0) is taken after a pause like the injected one: the work after an idle
    # wait runs on a cooled-down CPU and costs a millisecond or two more than back-to-back calls, which
    # would otherwise be counted as injected latency.
    baseline = statistics.median(round_trips(hub, request, 100, pause_s=0.05))
    set_faults(hub, latency_ms=50, latency_sigma=0.3)
    delayed = statistics.median(round_trips(hub, request, 200))
    added_ms = (delayed - baseline) * 1000
    assert 45 <= added_ms <= 65, f"median added latency {added_ms:.1f} ms (baseline {baseline * 1000:.1f} ms)"


def test_the_latency_is_the_whole_response_time_and_the_work_is_done_within_it(hub: HubSide,
                                                                              world: World) -> None:
    """Twelve calls sent at once: each comes back no sooner than latency_ms after it was sent, and the mock
    worked on each as it arrived (its record is written then), not after the latency, as an agency's servers
    work on concurrent requests in parallel. Were the work done after the latency (as before), the one
    process would take the twelve calls one after another once their latency ran out."""
    request = lookup(hub, world)
    set_faults(hub, latency_ms=300, latency_sigma=0)
    sent = dt.datetime.now(dt.UTC)

    async def at_once(n: int) -> list[float]:
        async with httpx.AsyncClient(base_url=str(hub.http.base_url)) as client:
            async def one() -> float:
                start = time.perf_counter()
                response = await client.post(str(request.url), content=request.content, headers=request.headers)
                assert response.status_code == 200, response.text
                return time.perf_counter() - start

            return list(await asyncio.gather(*(one() for _ in range(n))))

    times = asyncio.run(at_once(12))
    assert min(times) >= 0.3
    mine = [r for r in hub.http.get("/population/_admin/recorder").json()["received"]
            if dt.datetime.fromisoformat(r["arrived_at"]) >= sent]
    assert [(r["operation"], r["verdict"]) for r in mine] == [(OP_LOOKUP, "ok")] * 12
    worked_after_ms = [(dt.datetime.fromisoformat(r["at"]) - dt.datetime.fromisoformat(r["arrived_at"]))
                       / dt.timedelta(milliseconds=1) for r in mine]
    assert max(worked_after_ms) < 150, worked_after_ms


def test_error_rate_one_fails_every_call_in_the_agency_format(hub: HubSide, world: World) -> None:
    set_faults(hub, error_rate=1)
    request = lookup(hub, world)
    for _ in range(20):
        response = hub.http.send(request)
        assert response.status_code == 500
        body = response.json()
        assert (body["MaLoi"], body["MaLoiChuan"], body["QuyTac"]) == ("LOI_HE_THONG", "AGENCY_UNAVAILABLE",
                                                                       "injected_error")


def test_error_rate_is_a_rate(hub: HubSide, world: World) -> None:
    set_faults(hub, error_rate=0.3)
    request = lookup(hub, world)
    statuses = [hub.http.send(request).status_code for _ in range(200)]
    assert set(statuses) <= {200, 500}
    assert 0.15 <= statuses.count(500) / len(statuses) <= 0.45


def test_outage_answers_503_at_once(hub: HubSide, world: World) -> None:
    set_faults(hub, outage=True, latency_ms=2000)
    start = time.perf_counter()
    response = hub.http.send(lookup(hub, world))
    assert time.perf_counter() - start < 0.5
    assert response.status_code == 503
    assert (response.json()["MaLoi"], response.json()["MaLoiChuan"]) == ("TAM_NGUNG_DICH_VU", "AGENCY_UNAVAILABLE")
    assert hub.http.get("/population/_admin/faults").json()["outage"] is True  # admin is never faulted


def test_timeout_makes_the_client_time_out(hub: HubSide, world: World) -> None:
    set_faults(hub, timeout_rate=1, timeout_s=1)
    request = lookup(hub, world)
    request.extensions["timeout"] = httpx.Timeout(0.3).as_dict()
    start = time.perf_counter()
    with pytest.raises(httpx.TimeoutException):
        hub.http.send(request)
    assert time.perf_counter() - start < 0.9


def test_timeout_then_gateway_timeout_for_a_patient_client(hub: HubSide, world: World) -> None:
    set_faults(hub, timeout_rate=1, timeout_s=0.2)
    response = hub.http.send(lookup(hub, world))
    assert response.status_code == 504 and response.json()["MaLoi"] == "QUA_THOI_GIAN_XU_LY"


def test_unsigned_answer_fails_verification(hub: HubSide, world: World) -> None:
    set_faults(hub, unsigned_rate=1)
    response = hub.http.send(lookup(hub, world))
    assert response.status_code == 200 and "x-jws-signature" not in response.headers
    json.loads(response.content)  # the body itself is fine
    with pytest.raises(Refusal) as caught:
        hub.verify(response)
    assert caught.value.code == "SIGNATURE_INVALID"


def test_bad_signature_fails_verification(hub: HubSide, world: World) -> None:
    set_faults(hub, bad_signature_rate=1)
    response = hub.http.send(lookup(hub, world))
    assert response.status_code == 200
    with pytest.raises(Refusal) as caught:
        hub.verify(response)
    assert (caught.value.code, caught.value.rule) == ("SIGNATURE_INVALID", "cryptographic")


def test_malformed_answer_cannot_be_parsed(hub: HubSide, world: World) -> None:
    set_faults(hub, malformed_rate=1)
    response = hub.http.send(lookup(hub, world))
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    with pytest.raises(Refusal):
        hub.verify(response)


def test_no_faults_means_a_clean_verified_answer(hub: HubSide, world: World) -> None:
    response = hub.http.send(lookup(hub, world))
    assert response.status_code == 200 and hub.verify(response).signer == "population"


def test_admin_endpoint_reads_sets_and_resets(hub: HubSide) -> None:
    assert hub.http.get("/population/_admin/faults").json() == FaultConfig().model_dump()
    changed = set_faults(hub, error_rate=0.25, latency_ms=10)
    assert (changed["error_rate"], changed["latency_ms"], changed["outage"]) == (0.25, 10, False)
    assert hub.http.get("/population/_admin/faults").json() == changed
    reset = hub.http.delete("/population/_admin/faults")
    assert reset.status_code == 200 and reset.json() == FaultConfig().model_dump()


def test_admin_refuses_an_impossible_fault_setting(hub: HubSide) -> None:
    # A client of its own: after an unhandled error the server drops the connection, which a pooled
    # client would only find out on its next request.
    response = httpx.put(f"{hub.base_url}/population/_admin/faults", json={"error_rate": 2})
    assert response.status_code == 422
    assert hub.http.get("/population/_admin/faults").json()["error_rate"] == 0


def test_start_up_fault_config_applies(key_dir: Path, world: World) -> None:
    faults = FaultInjector(FaultConfig(outage=True), seed=1)
    mock = PopulationMock(key_dir=key_dir, world=world, faults=faults)
    with serve(mock) as (served, _):
        side = HubSide(served.url, key_dir)
        assert side.token_response().status_code == 503  # faults apply to every operation, the token one too
        assert side.http.get("/population/_admin/faults").json()["outage"] is True
        side.http.delete("/population/_admin/faults").raise_for_status()
        response = side.http.send(lookup(side, world))
        assert response.status_code == 200 and side.verify(response).signer == "population"
        side.close()


def test_a_caller_that_gives_up_during_the_latency_has_still_delivered_its_request(hub: HubSide,
                                                                                    world: World) -> None:
    """The agency reads the whole request on arrival and takes its time after: a caller cut by its own
    deadline leaves the request recorded under its operation, as the agency received it."""
    set_faults(hub, latency_ms=600, latency_sigma=0)
    request = lookup(hub, world)
    request.extensions["timeout"] = httpx.Timeout(0.2).as_dict()
    sent = dt.datetime.now(dt.UTC)
    with pytest.raises(httpx.ReadTimeout):
        hub.http.send(request)
    deadline = time.monotonic() + 5
    mine: list[dict[str, object]] = []
    while time.monotonic() < deadline and not mine:  # an earlier test's late call may be recorded too
        time.sleep(0.1)
        mine = [r for r in hub.http.get("/population/_admin/recorder").json()["received"]
                if dt.datetime.fromisoformat(r["arrived_at"]) >= sent]
    assert [(r["operation"], r["verdict"]) for r in mine] == [(OP_LOOKUP, "ok")]
