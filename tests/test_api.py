"""The API over real HTTP: liveness, readiness, schema, problems, authentication and scopes."""

from __future__ import annotations

import httpx
import pytest

from hub.api.app import create_app
from hub.clients import add_client, revoke_client
from hub.settings import Settings
from hub.store.database import Database
from hub.store.migrate import upgrade
from tests.conftest import ServedApp, free_port

PROBLEM = "application/problem+json"


def _problem(resp: httpx.Response, status: int, code: str) -> dict:  # type: ignore[type-arg]
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith(PROBLEM)
    body = resp.json()
    assert body["type"] == f"urn:thads:problem:{code}"
    assert body["code"] == code and body["status"] == status and body["title"] and body["detail"]
    return body  # type: ignore[no-any-return]


def test_health_ready_docs(hub_server: ServedApp) -> None:
    with httpx.Client(base_url=hub_server.url) as http:
        assert http.get("/health").json() == {"status": "ok"}
        ready = http.get("/ready")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}
        docs = http.get("/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        spec = http.get("/openapi.json").json()
        assert "problem" in spec["info"]["description"]
        assert all(op.get("summary") for path in spec["paths"].values() for op in path.values())


def test_ready_names_redis_when_redis_is_down(settings: Settings) -> None:
    down = settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    upgrade(down.database_url)
    with ServedApp(create_app(down)) as served, httpx.Client(base_url=served.url) as http:
        body = _problem(http.get("/ready"), 503, "DEPENDENCY_UNAVAILABLE")
        assert body["failed"] == ["redis"]
        assert body["checks"]["database"] == "ok"
        assert http.get("/health").status_code == 200


def test_ready_names_the_database_when_schema_is_missing(settings: Settings) -> None:
    with ServedApp(create_app(settings)) as served, httpx.Client(base_url=served.url) as http:
        body = _problem(http.get("/ready"), 503, "DEPENDENCY_UNAVAILABLE")
        assert body["failed"] == ["database"]
        assert "thads-hub db upgrade" in body["checks"]["database"]


def test_canonical_schema_is_published(hub_server: ServedApp) -> None:
    schema = httpx.get(hub_server.url + "/v1/schema/canonical.json").json()
    for name in ("Judgment", "EnforcementCase", "VerificationReport", "Party", "EnvelopeHeader"):
        assert name in schema["$defs"], name
    judgment = schema["$defs"]["Judgment"]
    assert {"number", "court", "issued_on", "parties"} <= set(judgment["required"])


def test_unknown_path_and_wrong_method_are_problems(hub_server: ServedApp) -> None:
    with httpx.Client(base_url=hub_server.url) as http:
        _problem(http.get("/nowhere"), 404, "NOT_FOUND")
        _problem(http.post("/health"), 405, "METHOD_NOT_ALLOWED")


def test_error_registry_is_published(hub_server: ServedApp) -> None:
    codes = {e["code"] for e in httpx.get(hub_server.url + "/v1/errors").json()}
    assert {"XML_FORBIDDEN_CONSTRUCT", "SIGNATURE_INVALID", "REPLAY", "ID_INVALID", "PURPOSE_MISSING",
            "AGENCY_UNAVAILABLE"} <= codes


@pytest.fixture
def keys(hub_server: ServedApp, settings: Settings) -> dict[str, str]:
    db = Database(settings.database_url)
    _, admin = add_client(db, "ops-admin", ["clients:admin"])
    _, case_system = add_client(db, "case-system-hcm", ["verify:identity"])
    _, gone = add_client(db, "old-system", ["clients:admin"])
    revoke_client(db, "old-system")
    db.dispose()
    return {"admin": admin, "case": case_system, "revoked": gone}


def test_bearer_keys_and_scopes(hub_server: ServedApp, keys: dict[str, str]) -> None:
    def bearer(k: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {k}"}

    with httpx.Client(base_url=hub_server.url) as http:
        missing = http.get("/v1/whoami")
        assert _problem(missing, 401, "AUTH_REQUIRED")["rule"] == "bearer_present"
        assert missing.headers["www-authenticate"].startswith("Bearer")
        nonsense = http.get("/v1/whoami", headers=bearer("nonsense"))
        assert _problem(nonsense, 401, "AUTH_REQUIRED")["rule"] == "key_format"
        forged = keys["admin"][:-4] + "AAAA"
        assert _problem(http.get("/v1/whoami", headers=bearer(forged)), 401, "AUTH_REQUIRED")["rule"] == "key_known"
        _problem(http.get("/v1/whoami", headers=bearer(keys["revoked"])), 401, "KEY_REVOKED")

        me = http.get("/v1/whoami", headers=bearer(keys["case"])).json()
        assert me["name"] == "case-system-hcm" and me["scopes"] == ["verify:identity"]
        refused = _problem(http.get("/v1/clients", headers=bearer(keys["case"])), 403, "SCOPE_MISSING")
        assert refused["missing"] == ["clients:admin"]

        listed = http.get("/v1/clients", headers=bearer(keys["admin"]))
        assert listed.status_code == 200
        names = {c["name"]: c for c in listed.json()}
        assert set(names) == {"ops-admin", "case-system-hcm", "old-system"}
        assert names["old-system"]["revoked_at"] is not None
        assert all("key" not in field for c in listed.json() for field in c)


def test_person_id_check(hub_server: ServedApp, keys: dict[str, str]) -> None:
    h = {"Authorization": f"Bearer {keys['case']}"}
    with httpx.Client(base_url=hub_server.url, headers=h) as http:
        ok = http.post("/v1/identifiers/person-id:check", json={"person_id": "087084000999"})
        assert ok.status_code == 200, ok.text
        assert ok.json() == {"masked": "087******999", "birth_registration_province_code": "087",
                             "birth_registration_province": "Đồng Tháp", "current_province_code": "82",
                             "current_province": "Đồng Tháp", "gender": "male", "birth_year": 1984}
        merged = http.post("/v1/identifiers/person-id:check", json={"person_id": "082190000001"}).json()
        assert (merged["birth_registration_province"], merged["current_province"]) == ("Tiền Giang", "Đồng Tháp")

        bad = http.post("/v1/identifiers/person-id:check", json={"person_id": "003084000999"})
        assert _problem(bad, 422, "ID_INVALID")["rule"] == "province_code"
        assert "003084000999" not in bad.text
        mismatch = http.post("/v1/identifiers/person-id:check",
                             json={"person_id": "087084000999", "gender": "female"})
        assert _problem(mismatch, 422, "ID_INVALID")["rule"] == "gender_mismatch"
        _problem(http.post("/v1/identifiers/person-id:check", content=b"{not json",
                           headers={"content-type": "application/json"}), 400, "REQUEST_INVALID")


def test_judgment_number_parse(hub_server: ServedApp, keys: dict[str, str]) -> None:
    h = {"Authorization": f"Bearer {keys['case']}"}
    with httpx.Client(base_url=hub_server.url, headers=h) as http:
        parsed = http.post("/v1/identifiers/judgment-number:parse", json={"text": "12/2024/DS-ST"}).json()
        assert (parsed["seq"], parsed["year"], parsed["case_type"], parsed["instance"]) == (12, 2024, "DS", "ST")
        bad = http.post("/v1/identifiers/judgment-number:parse", json={"text": "12/2024/XX-ST"})
        _problem(bad, 422, "JUDGMENT_NUMBER_INVALID")


def test_a_bug_is_a_500_with_an_error_id_not_a_400(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise ZeroDivisionError("a bug")

    upgrade(settings.database_url)
    with ServedApp(app) as served:
        body = _problem(httpx.get(served.url + "/boom"), 500, "INTERNAL")
        assert len(body["error_id"]) == 32 and "a bug" not in body["detail"]
        assert httpx.get(served.url + "/health").status_code == 200


def test_deadline_over_the_api_skips_the_tet_break(hub_server: ServedApp) -> None:
    with httpx.Client(base_url=hub_server.url) as http:
        ids = {r["id"] for r in http.get("/v1/deadlines/rules").json()}
        assert {"enforcement_decision", "notification", "voluntary_period", "re_verification"} <= ids
        # Thursday 12/02/2026, then 5 working days: Fri 13, and (Tết off 14-22/02) Mon 23 .. Thu 26.
        due = http.post("/v1/deadlines:compute", json={"rule": "enforcement_decision", "start": "2026-02-12"})
        assert due.status_code == 200, due.text
        assert due.json()["due"] == "2026-02-26"
        unknown = http.post("/v1/deadlines:compute", json={"rule": "nope", "start": "2026-02-12"})
        assert _problem(unknown, 400, "REQUEST_INVALID")["rule"] == "deadline_rule_unknown"
