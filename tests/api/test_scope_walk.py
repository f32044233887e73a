"""Every route of the OpenAPI document, as every role: nobody reads or changes outside their scope.

For each route and role the walk substitutes entities the role must not see (from the hand-written
VISIBLE sets in world.py) and checks the answer is 403/404 with the database unchanged; it
substitutes an entity the role may see and checks reads succeed; and it checks that every item a
list returns is inside the role's scope, also when filtered by another farm or region.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import psycopg

from tests.api import world
from tests.api.conftest import ApiWorld

PREFIX = "/api/v1"
REPORTS = "/api/v1/reports/"  # farmers may not read regional reports at all
# Not role-scoped: login, logout and the caller's own password and phone (tested in
# tests/security/test_http_accounts.py); SMS webhooks (authenticated by the provider's signature, tested in
# tests/alerts/test_webhook_routes.py); the SSE stream (never ends; scope tested in
# tests/alerts/test_stream_db.py); rollouts (tests/ota/test_rollout_api.py); a frame's JPEG (the world
# stores no image files; scope tested in tests/api/test_labels.py).
SKIP = {("get", "/api/v1/frames/{gateway_id}/{seq}/image"), ("post", "/api/v1/auth/token"),
        ("post", "/api/v1/auth/sms-code"), ("post", "/api/v1/auth/sms-token"), ("get", "/api/v1/alerts/stream"),
        ("post", "/api/v1/webhooks/sms/generic"), ("post", "/api/v1/webhooks/sms/twilio"),
        ("post", "/api/v1/webhooks/sms/aliyun"), ("post", "/api/v1/webhooks/sms/tencent"),
        ("post", "/api/v1/auth/logout"),
        ("post", "/api/v1/me/password"), ("post", "/api/v1/me/phone"), ("post", "/api/v1/me/phone/confirm"),
        # Rollouts: scoped by every gateway of the rollout, bodies name stages (tests/ota/test_rollout_api.py).
        ("post", "/api/v1/rollouts"), ("get", "/api/v1/rollouts/{rollout_id}"),
        ("post", "/api/v1/rollouts/{rollout_id}/{action}")}
TABLES = ("regions", "users", "user_scopes", "farms", "houses", "flocks", "gateways", "gateway_configs", "audit_log",
          "sensors", "daily_records", "mortality_records", "alerts", "label_frames", "cameras")

# A valid body per write route, so a request reaches the scope checks instead of stopping at 422.
BODIES: dict[tuple[str, str], Any] = {
    ("post", "/api/v1/regions"): {"id": "newr", "parent_id": "{region_id}", "level": "village", "name": "新村"},
    ("post", "/api/v1/farms"): {"id": "newf", "name": "新农场", "region_id": "{region_id}"},
    ("patch", "/api/v1/farms/{farm_id}"): {"name": "renamed"},
    ("post", "/api/v1/farms/{farm_id}/houses"): {"id": "newh", "name": "二号鸡舍"},
    ("post", "/api/v1/houses/{house_id}/flocks"): {"id": "newfl", "breed": "ross308", "placed_on": "2026-11-01",
                                                   "birds_placed": 100},
    ("patch", "/api/v1/flocks/{flock_id}"): {"birds_placed": 5000},
    ("post", "/api/v1/gateways/{gateway_id}/configs/check"): {"config": {"telemetry_batch_s": 30}},
    ("post", "/api/v1/gateways/{gateway_id}/configs"): {"config": {"telemetry_batch_s": 30}},
    ("put", "/api/v1/flocks/{flock_id}/daily-records/{day}"): {"deaths": 1},
    ("post", "/api/v1/mortality/{record_id}/decision"): {"confirmed": True},
    ("post", "/api/v1/alerts/{alert_id}/acknowledge"): None,
    ("post", "/api/v1/farms/{farm_id}/gateways"): {"gateway_id": "gw-new"},
    ("post", "/api/v1/gateways/{gateway_id}/credentials"): None,
    ("post", "/api/v1/gateways/{gateway_id}/revoke"): None,
    ("post", "/api/v1/users"): {"username": "newuser", "password": "long-enough-1", "role": "farmer",
                                "farms": ["{farm_id}"]},
    ("patch", "/api/v1/users/{user_id}"): {"display_name": "changed"},
    ("post", "/api/v1/users/{user_id}/sessions/revoke"): None,
    ("put", "/api/v1/frames/{gateway_id}/{seq}/labels"): {"boxes": [{"cls": "dead", "box": [10, 10, 40, 30]}]},
    ("delete", "/api/v1/frames/{gateway_id}/{seq}/labels"): None,
    ("patch", "/api/v1/cameras/{gateway_id}/{camera_id}"): {"view_share": 0.5},
    ("delete", "/api/v1/cameras/{gateway_id}/{camera_id}/quiet-spots/{spot_id}"): None,
    ("post", "/api/v1/cameras/{gateway_id}/{camera_id}/ignore-zones"): {"box": [0, 0, 64, 22]},
    ("delete", "/api/v1/cameras/{gateway_id}/{camera_id}/ignore-zones/{zone_id}"): None,
    ("post", "/api/v1/cameras/{gateway_id}/{camera_id}/adapt"): None,
}
# Path parameters after the scoped one: the world's camera and frame of every gateway.
SECONDARY = {"camera_id": "cam1", "seq": "1", "spot_id": "1", "zone_id": "1"}
# Labelling is for technicians (and admins): other roles get 403 on what they may otherwise see.
LABELLERS = {"tech1", "admin"}


def labelling(path: str) -> bool:
    return path.startswith(("/api/v1/frames/", "/api/v1/cameras/")) or "/label-set" in path
# Query parameters some GET routes need.
QUERY: dict[str, dict[str, str]] = {
    "/api/v1/houses/{house_id}/series": {"metric": "temperature_c", "start": "2026-11-27T00:00:00+08:00",
                                         "end": "2026-11-28T12:00:00+08:00"},
    "/api/v1/houses/{house_id}/weights": {"start": "2026-11-01", "end": "2026-11-29"},
}
# Routes whose body names the scoped entity rather than the path.
BODY_SCOPED = {("post", "/api/v1/regions"): "region", ("post", "/api/v1/farms"): "region",
               ("post", "/api/v1/users"): "farm"}
FILTERS = {"farm_id": "farm", "region_id": "region", "house_id": "house"}
REGION_IDS = [r[0] for r in world.REGIONS]


def snapshot(conn: psycopg.Connection) -> dict[str, str | None]:
    out = {}
    for table in TABLES:
        row = conn.execute(f"SELECT md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {table} t").fetchone()
        out[table] = row[0] if row else None
    return out


def candidates(api: ApiWorld, kind: str) -> dict[str, str]:
    """key (farm, region or username) -> the value that goes into the URL."""
    if kind in ("farm", "house", "flock", "gateway"):
        makers: dict[str, Callable[[str], str]] = {"farm": str, "house": world.house, "flock": world.flock,
                                                   "gateway": world.gateway}
        make = makers[kind]
        return {f: make(f) for f in world.FARMS}
    if kind == "alert":
        return {k: str(v) for k, v in api.ids["alerts"].items()}
    if kind == "mortality":
        return {k: str(v) for k, v in api.ids["mortality"].items()}
    if kind == "region":
        return {r: r for r in REGION_IDS}
    if kind == "user":
        return {u: str(i) for u, i in api.ids["users"].items()}
    raise AssertionError(f"unknown kind {kind}")


def visible(user: str, kind: str, key: str) -> bool:
    if kind == "region":
        return key in world.VISIBLE_REGIONS[user]
    if kind == "user":
        return user == "admin" or key == user
    if kind == "alert" and key == "c2":  # the regional alert
        return "c2" in world.VISIBLE_REGIONS[user]
    return key in world.VISIBLE_FARMS[user]


PARAM_KIND = {"farm_id": "farm", "house_id": "house", "flock_id": "flock", "gateway_id": "gateway",
              "alert_id": "alert", "record_id": "mortality", "region_id": "region", "user_id": "user"}


def primary_kind(path: str) -> str | None:
    params = [p for p in re.findall(r"{(\w+)}", path) if p != "day" and p not in SECONDARY]
    for p in params:
        if p not in PARAM_KIND:
            raise AssertionError(f"{path}: the walk does not know path parameter {p}; add it")
    return PARAM_KIND[params[0]] if params else None


def fill(template: Any, kind: str, value: str) -> Any:
    if isinstance(template, dict):
        return {k: fill(v, kind, value) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, kind, value) for v in template]
    if isinstance(template, str) and template.startswith("{"):
        return value
    return template


def request(api: ApiWorld, user: str, method: str, path: str, kind: str | None, value: str | None,
            body_value: str | None = None) -> Any:
    url = path.replace("{day}", str(world.TODAY))
    if kind is not None and value is not None:
        url = re.sub(r"{\w+}", value, url, count=1)
    for name, fixed in SECONDARY.items():
        url = url.replace("{" + name + "}", fixed)
    body = BODIES.get((method, path))
    if body is not None and body_value is not None:
        body = fill(body, "", body_value)
    kwargs: dict[str, Any] = {"headers": api.headers(user), "params": QUERY.get(path, {})}
    if body is not None:
        kwargs["json"] = body
    return api.client.request(method.upper(), url, **kwargs)


def check_items(user: str, path: str, payload: Any) -> None:
    items = payload["items"] if isinstance(payload, dict) and "items" in payload else payload
    if not isinstance(items, list):
        return
    for item in items:
        if not isinstance(item, dict):
            continue
        if item.get("farm_id") is not None:
            assert item["farm_id"] in world.VISIBLE_FARMS[user], (user, path, item)
        elif item.get("region_id") is not None and path.endswith("/alerts"):
            assert item["region_id"] in world.VISIBLE_REGIONS[user], (user, path, item)
        if path.endswith("/farms"):
            assert item["id"] in world.VISIBLE_FARMS[user], (user, path, item)
        if path.endswith("/regions"):
            assert item["id"] in world.VISIBLE_REGIONS[user], (user, path, item)
        if path.endswith("/users"):
            assert user == "admin"


def test_every_route_as_every_role_stays_in_scope(api: ApiWorld) -> None:
    spec = api.client.get("/openapi.json").json()
    routes = [(m, p) for p, ops in spec["paths"].items() if p.startswith(PREFIX) for m in ops
              if (m, p) not in SKIP]
    writes = [(m, p) for m, p in routes if m != "get"]
    assert not [r for r in writes if r not in BODIES], "every write route needs an example body in BODIES"
    walked = 0
    with api.db.connect(autocommit=True) as conn:
        for method, path in routes:
            kind = primary_kind(path)
            for user in world.USERS:
                if kind is None:
                    walked += walk_unparameterised(api, conn, user, method, path)
                    continue
                for key, value in candidates(api, kind).items():
                    if visible(user, kind, key):
                        if method == "get":
                            r = request(api, user, method, path, kind, value)
                            expected = 403 if (path.startswith(REPORTS) and user.startswith("farmer")) else 200
                            if labelling(path) and user not in LABELLERS:
                                expected = 403
                            assert r.status_code == expected, (user, path, value, r.text)
                            if r.headers["content-type"].startswith("application/json"):
                                check_items(user, path, r.json())
                        continue
                    before = snapshot(conn)
                    r = request(api, user, method, path, kind, value, body_value=_body_target(method, path, user))
                    assert r.status_code in (403, 404), (user, method, path, value, r.status_code, r.text)
                    assert r.json()["error"]["code"] in ("forbidden", "not_found")
                    assert snapshot(conn) == before, (user, method, path, value)
                    walked += 1
    assert walked > 300  # the walk really ran over the routes


def _body_target(method: str, path: str, user: str) -> str | None:
    """For body-scoped writes, an entity outside the user's scope (or any, for the admin)."""
    kind = BODY_SCOPED.get((method, path))
    if kind == "region":
        return next((r for r in REGION_IDS if r not in world.VISIBLE_REGIONS[user]), "v1")
    if kind == "farm":
        return next((f for f in world.FARMS if f not in world.VISIBLE_FARMS[user]), "f1")
    return None


def walk_unparameterised(api: ApiWorld, conn: psycopg.Connection, user: str, method: str, path: str) -> int:
    if method == "get":
        r = request(api, user, method, path, None, None)
        if (path in ("/api/v1/users", "/api/v1/audit") and user != "admin") or (
                labelling(path) and user not in LABELLERS):
            assert r.status_code == 403, (user, path)
            return 1
        assert r.status_code == 200, (user, path, r.text)
        check_items(user, path, r.json())
        params = _filters(api, path)
        count = 1
        for name, kind in params:
            for key, value in candidates(api, kind).items():
                if visible(user, kind, key):
                    continue
                r = api.client.get(path, headers=api.headers(user), params={name: value})
                assert r.status_code in (200, 404), (user, path, name, value, r.text)
                if r.status_code == 200:
                    # An ancestor region may hold the user's own farms; a foreign farm or house holds nothing.
                    check_items(user, path, r.json())
                    if kind != "region":
                        assert r.json()["items"] == [], (user, path, name, value, r.text)
                count += 1
        return count
    target = _body_target(method, path, user)
    before = snapshot(conn)
    r = request(api, user, method, path, None, None, body_value=target)
    if user == "admin":
        assert r.status_code == 201, (path, r.text)  # the admin may; proves the body is a real one
        return 1
    assert r.status_code in (403, 404), (user, method, path, r.status_code, r.text)
    assert snapshot(conn) == before, (user, method, path)
    return 1


def _filters(api: ApiWorld, path: str) -> list[tuple[str, str]]:
    spec = api.client.get("/openapi.json").json()
    params = spec["paths"][path]["get"].get("parameters", [])
    return [(p["name"], FILTERS[p["name"]]) for p in params if p["in"] == "query" and p["name"] in FILTERS]
