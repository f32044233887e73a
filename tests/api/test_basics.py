"""Login, errors, health, pagination and the resources one by one."""

from __future__ import annotations

import pytest

from tests.api import world
from tests.api.conftest import ApiWorld


def test_login_rejects_wrong_password_with_the_error_shape(api: ApiWorld) -> None:
    r = api.client.post("/api/v1/auth/token", data={"username": "farmer1", "password": "nope-nope"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "bad_credentials"


def test_requests_without_or_with_a_forged_token_are_refused(api: ApiWorld) -> None:
    assert api.client.get("/api/v1/farms").json()["error"]["code"] == "unauthorized"
    forged = api.tokens["farmer1"][:-4] + "AAAA"
    r = api.client.get("/api/v1/farms", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401


def test_health_ready_metrics_and_openapi(api: ApiWorld) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    assert api.client.get("/readyz").status_code == 200
    api.client.get("/api/v1/farms", headers=api.headers("admin"))
    metrics = api.client.get("/metrics").text
    assert 'fhy_api_requests_total{method="GET",route="/api/v1/farms",status="200"}' in metrics
    docs = api.client.get("/docs").text
    assert "/docs-static/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()  # served by us
    assert api.client.get("/docs-static/swagger-ui-bundle.js").status_code == 200
    paths = api.client.get("/openapi.json").json()["paths"]
    assert "/api/v1/gateways/{gateway_id}/configs" in paths


def test_me_and_pagination(api: ApiWorld) -> None:
    me = api.client.get("/api/v1/me", headers=api.headers("tech1")).json()
    assert me["role"] == "technician" and me["regions"] == ["c1"]
    first = api.client.get("/api/v1/farms?limit=2", headers=api.headers("admin")).json()
    second = api.client.get("/api/v1/farms?limit=2&offset=2", headers=api.headers("admin")).json()
    assert first["total"] == second["total"] == 4
    assert [f["id"] for f in first["items"] + second["items"]] == ["f1", "f2", "f3", "f4"]
    bad = api.client.get("/api/v1/farms?limit=0", headers=api.headers("admin"))
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid"


def test_daily_record_lowers_birds_now_and_is_audited(api: ApiWorld) -> None:
    h = api.headers("farmer1")
    flock = world.flock("f1")
    before = api.client.get(f"/api/v1/flocks/{flock}", headers=h).json()["birds_now"]
    r = api.client.put(f"/api/v1/flocks/{flock}/daily-records/{world.TODAY}", headers=h,
                       json={"deaths": 4, "culls": 1, "feed_kg": 31.5, "eggs": 0})
    assert r.status_code == 200, r.text
    assert api.client.get(f"/api/v1/flocks/{flock}", headers=h).json()["birds_now"] == before - 5
    # Correcting the same day applies only the difference.
    api.client.put(f"/api/v1/flocks/{flock}/daily-records/{world.TODAY}", headers=h, json={"deaths": 2})
    assert api.client.get(f"/api/v1/flocks/{flock}", headers=h).json()["birds_now"] == before - 2
    audit = api.client.get("/api/v1/audit?entity=daily_record", headers=api.headers("admin")).json()
    assert audit["total"] == 2 and audit["items"][0]["user_id"] == api.ids["users"]["farmer1"]


def test_acknowledge_alert(api: ApiWorld) -> None:
    alert = api.ids["alerts"]["f1"]
    r = api.client.post(f"/api/v1/alerts/{alert}/acknowledge", headers=api.headers("farmer1"))
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    assert r.json()["acknowledged_by"] == api.ids["users"]["farmer1"]
    staff = api.client.post(f"/api/v1/alerts/{api.ids['alerts']['c2']}/acknowledge", headers=api.headers("staff2"))
    assert staff.status_code == 403


def test_config_push_validates_diffs_stores_history_and_publishes(api: ApiWorld) -> None:
    h, gw = api.headers("tech1"), world.gateway("f2")
    bad = api.client.post(f"/api/v1/gateways/{gw}/configs", headers=h, json={"config": {"telemetry_batch_s": -1}})
    assert bad.status_code == 422 and "telemetry_batch_s" in bad.json()["error"]["details"][0]
    unknown = api.client.post(f"/api/v1/gateways/{gw}/configs/check", headers=h, json={"config": {"mqtt": {}}})
    assert unknown.json()["valid"] is False
    new = {"telemetry_batch_s": 30, "rules": {"nh3_critical_ppm": 20}}
    check = api.client.post(f"/api/v1/gateways/{gw}/configs/check", headers=h, json={"config": new}).json()
    assert check["valid"] and {d["path"] for d in check["diff"]} == {"telemetry_batch_s", "rules.nh3_critical_ppm"}
    pushed = api.client.post(f"/api/v1/gateways/{gw}/configs", headers=h, json={"config": new, "expected_version": 1})
    assert pushed.status_code == 201, pushed.text
    assert pushed.json()["version"] == 2 and pushed.json()["published"]
    topic, payload = api.publisher.sent[-1]
    assert topic == f"fhy/v1/{gw}/config/desired" and b'"version":2' in payload.replace(b" ", b"")
    stale = api.client.post(f"/api/v1/gateways/{gw}/configs", headers=h, json={"config": {"telemetry_batch_s": 10},
                                                                               "expected_version": 1})
    assert stale.status_code == 409
    history = api.client.get(f"/api/v1/gateways/{gw}/configs", headers=h).json()
    assert [v["version"] for v in history["items"]] == [2, 1]
    assert api.client.get(f"/api/v1/gateways/{gw}", headers=h).json()["desired_version"] == 2


def test_series_and_weights(api_any: ApiWorld) -> None:
    h, hs = api_any.headers("farmer1"), world.house("f1")
    start, end = world.NOW.replace(hour=0) - __import__("datetime").timedelta(days=1), world.NOW
    r = api_any.client.get(f"/api/v1/houses/{hs}/series", headers=h,
                           params={"metric": "temperature_c", "start": start.isoformat(), "end": end.isoformat()})
    assert r.status_code == 200, r.text
    assert sum(p["n"] for p in r.json()) == len([1 for hh in range(24) if world.NOW.replace(minute=0) -
                                                  __import__("datetime").timedelta(hours=hh) < end])
    w = api_any.client.get(f"/api/v1/houses/{hs}/weights", headers=h,
                           params={"start": "2026-11-01", "end": "2026-11-29"})
    assert w.status_code == 200, w.text
    days = w.json()
    assert [d["day"] for d in days] == [str(world.TODAY - __import__("datetime").timedelta(days=d)) for d in range(7, 0, -1)]
    assert all(d["source"] == "gateway_summary" and d["mean_g"] == pytest.approx(0.95 * d["expected_g"], rel=1e-4)
               for d in days)


def test_register_rotate_and_revoke_a_gateway(api: ApiWorld) -> None:
    h = api.headers("tech1")
    r = api.client.post("/api/v1/farms/f2/gateways", headers=h, json={"gateway_id": "gw-f2b"})
    assert r.status_code == 201, r.text
    creds = r.json()
    assert creds["gateway_id"] == "gw-f2b" and len(creds["password"]) >= 16
    assert "gateway_id: gw-f2b" in creds["gateway_yaml"] and creds["password"] not in creds["gateway_yaml"]
    assert api.client.post("/api/v1/farms/f2/gateways", headers=h, json={"gateway_id": "gw-f2b"}).status_code == 409
    assert api.client.post("/api/v1/farms/f3/gateways", headers=h, json={}).status_code == 404
    assert api.client.post("/api/v1/farms/f1/gateways", headers=api.headers("farmer1"), json={}).status_code == 403
    rotated = api.client.post("/api/v1/gateways/gw-f2b/credentials", headers=h).json()
    assert rotated["password"] != creds["password"]
    assert api.client.post("/api/v1/gateways/gw-f2b/revoke", headers=h).status_code == 204
    assert api.client.get("/api/v1/gateways/gw-f2b", headers=h).json()["revoked"] is True
    push = api.client.post("/api/v1/gateways/gw-f2b/configs", headers=h, json={"config": {"telemetry_batch_s": 5}})
    assert push.status_code == 409


def test_the_api_refuses_to_start_without_a_jwt_secret() -> None:
    from cloud.api.app import MissingSecret
    from cloud.settings import CloudSettings
    from fuhuiyang.processes.api import build_app

    with pytest.raises(MissingSecret):
        build_app(CloudSettings(jwt_secret=None), with_web=False)
    with pytest.raises(MissingSecret):
        build_app(CloudSettings(jwt_secret="short"), with_web=False)
