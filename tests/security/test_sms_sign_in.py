"""Farmers sign in with a one-time code by SMS: same answer for any number, rate-limited,
expiring, a handful of tries; staff keep passwords. In the API and in a real browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import ApiWorld, make_world
from tests.support.databases import TestDatabase
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, live_server

FARMER_PHONE = "139 1234 5678"


def _give_phone(api: ApiWorld, username: str, phone: str) -> None:
    with api.db.connect() as conn:
        conn.execute("UPDATE users SET phone = %s WHERE username = %s", (phone, username))


def _codes(api: ApiWorld) -> list[str]:
    with api.db.connect() as conn:
        bodies = [r[0] for r in conn.execute("SELECT body FROM notifications WHERE template LIKE 'login_code.%' "
                                             "ORDER BY id").fetchall()]
    return [m.group(0) for b in bodies if (m := re.search(r"(?<!\d)\d{6}(?!\d)", b))]


def _age_codes(api: ApiWorld, by: timedelta) -> None:
    with api.db.connect() as conn:  # as if the minute between codes had passed
        conn.execute("UPDATE login_codes SET created_at = created_at - %s", (by,))


def test_a_farmer_signs_in_with_the_texted_code(api: ApiWorld) -> None:
    _give_phone(api, "farmer1", FARMER_PHONE)
    r = api.client.post("/api/v1/auth/sms-code", json={"phone": FARMER_PHONE})
    assert r.status_code == 202
    (code,) = _codes(api)
    token = api.client.post("/api/v1/auth/sms-token", json={"phone": "13912345678", "code": code})
    assert token.status_code == 200, token.text
    me = api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token.json()['access_token']}"})
    assert me.json()["username"] == "farmer1"
    again = api.client.post("/api/v1/auth/sms-token", json={"phone": FARMER_PHONE, "code": code})
    assert again.status_code == 401  # a code signs in once


def test_any_number_gets_the_same_answer_and_the_same_limits(api: ApiWorld) -> None:
    _give_phone(api, "tech1", "13800000009")  # staff keep passwords: no code for them
    for phone in ("13700000000", "13800000009"):
        assert api.client.post("/api/v1/auth/sms-code", json={"phone": phone}).status_code == 202
        soon = api.client.post("/api/v1/auth/sms-code", json={"phone": phone})
        assert soon.status_code == 429 and int(soon.headers["Retry-After"]) <= 60
    assert _codes(api) == []
    bad = api.client.post("/api/v1/auth/sms-code", json={"phone": "abc"})
    assert bad.status_code == 422


def test_wrong_codes_use_up_the_code_and_lock_the_number(api: ApiWorld) -> None:
    _give_phone(api, "farmer1", FARMER_PHONE)
    api.client.post("/api/v1/auth/sms-code", json={"phone": FARMER_PHONE})
    (code,) = _codes(api)
    wrong = "000000" if code != "000000" else "111111"
    statuses = [api.client.post("/api/v1/auth/sms-token", json={"phone": FARMER_PHONE, "code": wrong}).status_code
                for _ in range(5)]
    assert statuses == [401] * 5
    late = api.client.post("/api/v1/auth/sms-token", json={"phone": FARMER_PHONE, "code": code})
    assert late.status_code in (401, 429)  # five tries spent (and the number may be locked)
    for _ in range(10):
        r = api.client.post("/api/v1/auth/sms-token", json={"phone": FARMER_PHONE, "code": wrong})
        if r.status_code == 429:
            break
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    _age_codes(api, timedelta(minutes=2))
    assert api.client.post("/api/v1/auth/sms-code", json={"phone": FARMER_PHONE}).status_code == 202


def test_a_code_expires(api: ApiWorld) -> None:
    _give_phone(api, "farmer1", FARMER_PHONE)
    api.client.post("/api/v1/auth/sms-code", json={"phone": FARMER_PHONE})
    (code,) = _codes(api)
    with api.db.connect() as conn:
        conn.execute("UPDATE login_codes SET expires_at = now() - interval '1 second'")
    assert api.client.post("/api/v1/auth/sms-token", json={"phone": FARMER_PHONE, "code": code}).status_code == 401


@pytest.fixture
def api(db: TestDatabase) -> Iterator[ApiWorld]:
    yield from make_world(db, login_max_failures_per_account=8, login_max_failures_per_address=50)


@pytest.fixture
def site(db: TestDatabase, tmp_path: Path) -> Iterator[tuple[ApiWorld, str]]:
    for api in make_world(db, with_web=True, frames_dir=tmp_path):
        with live_server(api.client.app) as url:
            yield api, url


@pytest.mark.skipif(not CHROMIUM.exists(), reason="BROWSER TESTS NOT RUN: apt-get install chromium")
def test_a_farmer_signs_in_by_sms_code_in_a_browser(site: tuple[ApiWorld, str]) -> None:
    playwright_sync = pytest.importorskip("playwright.sync_api")
    api, url = site
    _give_phone(api, "farmer1", FARMER_PHONE)
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page: Any = browser.new_context(viewport={"width": 360, "height": 780}, locale="zh-CN").new_page()
        page.goto(f"{url}/login")
        page.get_by_label("手机号").fill(FARMER_PHONE)
        page.get_by_role("button", name="发送验证码").click()
        page.wait_for_load_state()
        assert "验证码已经发到手机上" in page.get_by_role("status").inner_text()
        for _ in range(100):  # the page can arrive a moment before its request's commit
            if _codes(api):
                break
            page.wait_for_timeout(50)
        page.get_by_label("短信验证码").fill(_codes(api)[-1])
        page.get_by_role("button", name="登录").click()
        page.wait_for_load_state()
        assert page.url.endswith("/farm") and "农场 f1" in page.get_by_role("heading", level=1).inner_text()
        browser.close()
