"""Attack from the open internet through a victim's browser: frame the app (clickjacking), make
the signed-in browser post to the API from another site (CSRF with the session cookie), or send
bytes the database cannot store (NUL, explicit nulls) to make the API fail with a 500.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import ApiWorld, make_world
from tests.support.databases import TestDatabase
from tests.web.conftest import browser_login

HEADERS = ("content-security-policy", "x-frame-options", "x-content-type-options", "referrer-policy")


@pytest.fixture
def web(db: TestDatabase) -> Iterator[ApiWorld]:
    yield from make_world(db, with_web=True)


def test_security_headers_on_api_pages_and_errors(web: ApiWorld) -> None:
    for path in ("/api/v1/me", "/login", "/api/v1/farms/nope", "/static/app.css", "/healthz"):
        r = web.client.get(path, headers=web.headers("farmer1"))
        for name in HEADERS:
            assert name in r.headers, (path, name)
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
        assert "strict-transport-security" not in r.headers  # plain HTTP: HSTS would mean nothing
    with TestClient(web.client.app, base_url="https://testserver") as tls:
        r = tls.get("/login")
        assert r.headers["strict-transport-security"].startswith("max-age=")


def _display_name(web: ApiWorld, username: str) -> str | None:
    with web.db.connect() as conn:
        row = conn.execute("SELECT display_name FROM users WHERE username = %s", (username,)).fetchone()
    assert row is not None
    return row[0]


def test_cross_site_cookie_writes_are_refused(web: ApiWorld) -> None:
    client = browser_login(web.client, "farmer1")
    uid = web.ids["users"]["farmer1"]
    before = _display_name(web, "farmer1")
    for hostile in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"},
                    {"Origin": "null"}, {"Referer": "https://evil.example/page"}):
        r = client.patch(f"/api/v1/users/{uid}", json={"display_name": "pwned"}, headers=hostile)
        assert r.status_code == 403 and r.json()["error"]["code"] == "cross_site", hostile
        r = client.post("/api/v1/auth/logout", headers=hostile)
        assert r.status_code == 403, hostile
    assert _display_name(web, "farmer1") == before
    assert client.get("/api/v1/me").status_code == 200  # the session survived the forged logout
    # From our own pages it works.
    r = client.patch(f"/api/v1/users/{uid}", json={"display_name": "mine"},
                     headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 200 and _display_name(web, "farmer1") == "mine"


def test_bearer_clients_are_not_subject_to_the_origin_check(web: ApiWorld) -> None:
    uid = web.ids["users"]["farmer1"]
    web.client.cookies.clear()
    r = web.client.patch(f"/api/v1/users/{uid}", json={"display_name": "app"},
                         headers={**web.headers("farmer1"), "Origin": "https://other-app.example"})
    assert r.status_code == 200


@pytest.mark.parametrize("method,path,kwargs", [
    ("get", "/api/v1/farms/f1%00", {}),
    ("get", "/api/v1/alerts", {"params": {"farm_id": "f1\x00"}}),
    ("post", "/api/v1/regions", {"json": {"id": "r9", "level": "village", "name": "a\x00b", "parent_id": "v1"}}),
    ("patch", "/api/v1/farms/f1", {"json": {"name": "x\x00"}}),
    ("post", "/api/v1/gateways/gw-f1/configs", {"json": {"config": {"telemetry_batch_s": 30, "k\x00": 1}}}),
    ("post", "/api/v1/auth/token", {"data": {"username": "admin\x00", "password": "p"}}),
])
def test_nul_characters_are_a_422(web: ApiWorld, method: str, path: str, kwargs: dict[str, object]) -> None:
    r = web.client.request(method.upper(), path, headers=web.headers("admin"), **kwargs)  # type: ignore[arg-type]
    assert r.status_code == 422, r.text
    assert "NUL" in r.text


def test_nul_in_a_web_form_is_a_422(web: ApiWorld) -> None:
    r = web.client.post("/login", data={"username": "farmer1\x00", "password": "x"})
    assert r.status_code == 422


@pytest.mark.parametrize("path,body", [
    ("/api/v1/farms/f1", {"name": None, "kind": None}),  # NOT NULL columns: null is "not given"
    ("/api/v1/flocks/f1-fl1", {"ended_on": None}),        # nullable: null clears
])
def test_explicit_null_is_never_a_500(web: ApiWorld, path: str, body: dict[str, object]) -> None:
    r = web.client.patch(path, headers=web.headers("admin"), json=body)
    assert r.status_code == 200, r.text


def test_explicit_null_in_a_user_patch(web: ApiWorld) -> None:
    uid = web.ids["users"]["farmer1"]
    for field in ("locale", "active", "password"):
        r = web.client.patch(f"/api/v1/users/{uid}", headers=web.headers("admin"), json={field: None})
        assert r.status_code == 200, (field, r.text)
    r = web.client.patch(f"/api/v1/users/{uid}", headers=web.headers("admin"), json={"display_name": None})
    assert r.status_code == 200 and r.json()["display_name"] is None


def test_refusals_are_counted(web: ApiWorld) -> None:
    assert web.client.get("/api/v1/farms/f1%00", headers=web.headers("admin")).status_code == 422
    client = browser_login(web.client, "farmer1")
    assert client.post("/api/v1/auth/logout", headers={"Origin": "https://evil.example"}).status_code == 403
    counted = [line for line in client.get("/metrics").text.splitlines()
               if line.startswith("fhy_api_requests_total{") and "unmatched" in line]  # refused before routing
    assert any('method="GET"' in line and 'status="422"' in line and line.endswith(" 1.0") for line in counted)
    assert any('method="POST"' in line and 'status="403"' in line and line.endswith(" 1.0") for line in counted)


def test_web_logout_ends_the_cookie_session_on_the_server(web: ApiWorld) -> None:
    client = browser_login(web.client, "farmer1")
    stolen = client.cookies.get("fhy_token")
    assert client.post("/logout", follow_redirects=False).status_code == 303
    client.cookies.clear()
    r = client.get("/api/v1/me", headers={"Authorization": f"Bearer {stolen}"})
    assert r.status_code == 401  # a copy of the cookie taken before logout is worthless
