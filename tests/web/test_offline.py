"""The farmer app through a dropped 4G link, in a real browser: the last page shows offline, a
record entered offline waits on the phone and is delivered once when the link returns."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api import world
from tests.api.conftest import ApiWorld
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, sign_in

PHONE = {"width": 360, "height": 780}
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="BROWSER TESTS NOT RUN: apt-get install chromium")



def _today_record(api: ApiWorld) -> tuple[Any, int]:
    with api.db.connect() as conn:
        row = conn.execute("SELECT deaths FROM daily_records WHERE flock_id = %s AND day = %s",
                           (world.flock("f1"), world.TODAY)).fetchone()
        audits = conn.execute("SELECT count(*) FROM audit_log WHERE entity = 'daily_record' AND entity_id = %s",
                              (f"{world.flock('f1')}/{world.TODAY}",)).fetchone()
    assert audits is not None
    return (None if row is None else row[0]), int(audits[0])


def test_a_record_entered_offline_is_delivered_once_when_the_link_returns(site: tuple[ApiWorld, str]) -> None:
    playwright_sync = pytest.importorskip("playwright.sync_api")
    api, url = site
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = sign_in(browser, url, "farmer1", world.password("farmer1"), PHONE)
        context = page.context
        page.wait_for_url("**/farm")
        page.evaluate("navigator.serviceWorker.ready.then(() => true)")
        page.reload()  # now under the service worker, which keeps the page

        context.set_offline(True)
        page.reload()  # the last known state, from the phone
        assert "农场 f1" in page.get_by_role("heading", level=1).inner_text()
        assert page.locator("#offline").is_visible()
        page.get_by_label("死亡数").fill("2")
        page.get_by_role("button", name="保存").click()
        page.locator("#offline", has_text="联网后会自动发送").wait_for(timeout=10_000)
        assert _today_record(api) == (None, 0)

        context.set_offline(False)
        page.locator("#offline", has_text="离线时填的内容已发送").wait_for(timeout=15_000)
        assert _today_record(api) == (2, 1)
        page.reload()  # nothing left to send: still one record, one audit entry
        page.wait_for_load_state()
        assert page.evaluate("localStorage.getItem('fhy-outbox')") == "[]"
        assert _today_record(api) == (2, 1)
        browser.close()


def test_a_farmer_corrects_a_record_and_the_live_count_follows(site: tuple[ApiWorld, str]) -> None:
    playwright_sync = pytest.importorskip("playwright.sync_api")
    _, url = site
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = sign_in(browser, url, "farmer1", world.password("farmer1"), PHONE)
        page.wait_for_url("**/farm")
        birds = page.locator(f"#birds-{world.flock('f1')}")
        before = int(birds.inner_text())
        page.get_by_label("死亡数").fill("50")  # a slip of the finger: 50 for 5
        page.get_by_role("button", name="保存").click()
        page.wait_for_load_state()
        assert int(birds.inner_text()) == before - 50
        page.get_by_label("死亡数").fill("5")  # the form opens on the saved day with its values
        page.get_by_role("button", name="保存").click()
        page.wait_for_load_state()
        assert int(birds.inner_text()) == before - 5
        page.get_by_label("死亡数").fill("1.5")
        page.get_by_role("button", name="保存").click()  # the page's own check (from the API schema)
        assert page.evaluate("document.querySelector('input[name=deaths]').validity.stepMismatch")
        browser.close()
