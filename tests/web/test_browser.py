"""The web app in a real browser (Debian's Chromium via Playwright) at a phone's 360 px width.

Each role logs in and sees exactly its own things; a farmer acknowledges an alert, records deaths
and confirms a dead-bird photo; a technician checks and pushes a config; programme staff drill
down and download CSV, XLSX and PDF. Every main page passes the basic accessibility checks and
is kept as a screenshot under docs/screenshots/.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from cloud.frames_store import LocalFrameStore
from tests.api import world
from tests.api.conftest import ApiWorld, make_world
from tests.support.databases import TestDatabase
from tests.web.browser import A11Y_JS, CHROMIUM, live_server

pytest.importorskip("playwright.sync_api")
# Screenshots are taken on every run; they replace docs/screenshots/ only when asked
# (FUHUIYANG_SCREENSHOTS=1), so a test run leaves the checkout clean.
SHOTS = (Path(__file__).resolve().parents[2] / "docs" / "screenshots" if os.environ.get("FUHUIYANG_SCREENSHOTS")
         else Path(tempfile.gettempdir()) / "fuhuiyang-screenshots")
PHONE = {"width": 360, "height": 780}

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="BROWSER TESTS NOT RUN: apt-get install chromium")


def _photo(frames_dir: Path, path: str) -> None:
    """A small JPEG at the evidence path, so the confirm-photo card shows a real image."""
    img = np.full((240, 320, 3), (120, 170, 200), np.uint8)
    cv2.ellipse(img, (160, 130), (70, 38), 15, 0, 360, (235, 235, 240), -1)
    cv2.circle(img, (225, 105), 16, (235, 235, 240), -1)
    ok, data = cv2.imencode(".jpg", img)
    assert ok
    target = frames_dir / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data.tobytes())
    assert LocalFrameStore(frames_dir).read(path)


@pytest.fixture
def site(db: TestDatabase, tmp_path: Path) -> Iterator[tuple[ApiWorld, str]]:
    for farm in world.FARMS:
        _photo(tmp_path, f"cd/ef/{'cd' * 32}.jpg")
        del farm
    for api in make_world(db, with_web=True, frames_dir=tmp_path):
        with live_server(api.client.app) as url:
            yield api, url


def login(browser: Any, url: str, username: str) -> Any:
    context = browser.new_context(viewport=PHONE, accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    page.goto(f"{url}/login")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(world.password(username))
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    return page


def check_page(page: Any, shot: str | None) -> None:
    problems = page.evaluate(A11Y_JS)
    assert problems == [], (page.url, problems)
    if shot:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)


def test_login_page(site: tuple[ApiWorld, str], browser: Any) -> None:
    _, url = site
    page = browser.new_context(viewport=PHONE).new_page()
    page.goto(f"{url}/farm")
    assert "/login" in page.url
    check_page(page, "login")
    page.get_by_label("用户名").fill("farmer1")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    assert page.get_by_role("alert").inner_text() == "用户名或密码错误"


def test_farmer(site: tuple[ApiWorld, str], browser: Any) -> None:
    api, url = site
    page = login(browser, url, "farmer1")
    assert page.url.endswith("/farm")
    assert page.get_by_role("heading", level=1).inner_text() == "农场 f1"
    nav = page.get_by_role("navigation").first.inner_text()
    assert "我的农场" in nav and "技术员控制台" not in nav and "区域报告" not in nav
    assert "隔离病鸡" in page.content()
    check_page(page, "farmer")
    # Acknowledge the alert.
    page.get_by_role("button", name="我知道了").click()
    page.wait_for_load_state()
    assert "已确认" in page.locator("#alerts").inner_text()
    assert page.get_by_role("button", name="我知道了").count() == 0
    # Record today's deaths.
    page.get_by_label("死亡数").fill("3")
    page.get_by_label("饲料 (公斤)").fill("31.5")
    page.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text() == "已保存"
    assert page.locator(f"#birds-{world.flock('f1')}").inner_text() == "291"  # 300 placed, 6 + 3 deaths
    # Confirm the dead-bird photo.
    assert page.locator("#photos img").evaluate("img => img.naturalWidth") == 320
    page.get_by_role("button", name="是死鸡").click()
    page.wait_for_load_state()
    assert "没有待确认的照片" in page.locator("#photos").inner_text()
    # Another farm's page and the console are closed to a farmer.
    assert page.goto(f"{url}/farm?farm=f3").status == 404
    assert page.goto(f"{url}/console").status == 403
    # English.
    page.goto(f"{url}/farm")
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Alerts").count() == 1
    check_page(page, "farmer-en")
    with api.db.connect() as conn:
        row = conn.execute("SELECT deaths, feed_kg FROM daily_records WHERE flock_id = %s AND day = %s",
                           (world.flock("f1"), world.TODAY)).fetchone()
        assert row == (3, 31.5)
        assert conn.execute("SELECT confirmed FROM mortality_records WHERE id = %s",
                            (api.ids["mortality"]["f1"],)).fetchone() == (True,)


def test_technician(site: tuple[ApiWorld, str], browser: Any) -> None:
    api, url = site
    page = login(browser, url, "tech1")
    assert page.url.endswith("/console")
    table = page.locator("table").inner_text()
    assert all(world.gateway(f) in table for f in ("f1", "f2", "f4")) and world.gateway("f3") not in table
    check_page(page, "console")
    # Provision a gateway: credentials once, gateway.yaml, a QR code.
    page.get_by_label("农场").select_option("f2")
    page.get_by_label("网关编号（可不填，自动生成）").fill("gw-new1")
    page.get_by_role("button", name="注册").click()
    page.wait_for_load_state()
    assert page.locator("#new-gateway").inner_text() == "gw-new1"
    assert len(page.locator("#new-password").inner_text()) >= 16
    assert "gateway_id: gw-new1" in page.locator("#gateway-yaml").inner_text()
    assert page.locator(".qr svg").count() == 1
    with page.expect_download() as info:
        page.get_by_role("link", name="下载 gateway.yaml").click()
    assert "gateway_id: gw-new1" in Path(info.value.path()).read_text()
    check_page(page, "provisioned")
    page.goto(f"{url}/console")
    assert "gw-new1" in page.locator("table").inner_text()
    page.get_by_role("link", name=world.gateway("f2")).click()
    page.wait_for_load_state()
    editor = page.get_by_label("远程配置 — JSON 格式；推送前先检查")
    editor.fill('{"telemetry_batch_s": -5}')
    page.locator("#json-config").get_by_role("button", name="检查").click()
    page.wait_for_load_state()
    assert "配置无效" in page.get_by_role("alert").inner_text()
    editor = page.get_by_label("远程配置 — JSON 格式；推送前先检查")
    editor.fill('{"telemetry_batch_s": 30, "rules": {"nh3_critical_ppm": 20}}')
    page.locator("#json-config").get_by_role("button", name="检查").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text() == "配置有效"
    assert "氨气报警" in page.locator("table.diff").inner_text()
    check_page(page, "gateway-check")
    page.locator("#json-config").get_by_role("button", name="推送").click()
    page.wait_for_load_state()
    assert "已推送版本 2" in page.get_by_role("status").inner_text()
    assert "v2" in page.locator("ol").inner_text()
    check_page(page, "gateway")
    assert api.publisher.sent[-1][0] == f"fhy/v1/{world.gateway('f2')}/config/desired"
    assert page.goto(f"{url}/console/gateways/{world.gateway('f3')}").status == 404


def test_program_staff(site: tuple[ApiWorld, str], browser: Any) -> None:
    _, url = site
    page = login(browser, url, "staff2")
    assert "/reports/c2" in page.url
    nav = page.get_by_role("navigation").first.inner_text()
    assert "区域报告" in nav and "技术员控制台" not in nav
    page.get_by_label("开始").fill(str(world.TODAY.replace(day=21)))
    page.get_by_role("button", name="查看").click()
    page.wait_for_load_state()
    check_page(page, "report-county")
    page.get_by_role("link", name="兴隆镇").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="龙凤村").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "龙凤村"
    check_page(page, "report-village")
    downloads = {}
    for name in ("CSV", "XLSX", "打印 PDF", "Parquet"):
        with page.expect_download() as info:
            page.get_by_role("link", name=name).click()
        downloads[name] = Path(info.value.path()).read_bytes()
    assert downloads["CSV"].decode("utf-8-sig").splitlines()[-1].startswith("v3,村,龙凤村,1,")
    from openpyxl import load_workbook

    assert load_workbook(io.BytesIO(downloads["XLSX"]))["报告"].cell(row=5, column=1).value == "f3"
    assert downloads["打印 PDF"].startswith(b"%PDF")
    import pandas as pd

    assert pd.read_parquet(io.BytesIO(downloads["Parquet"]))["key"].tolist() == ["f3", "v3"]
    page.get_by_role("link", name="农场 f3").click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="保存").count() == 0  # read only
    assert page.goto(f"{url}/reports/c1").status == 404
    assert page.goto(f"{url}/console").status == 403


def test_admin_sees_the_province(site: tuple[ApiWorld, str], browser: Any) -> None:
    _, url = site
    page = login(browser, url, "admin")
    assert "/reports/p" in page.url
    rows = page.locator("table.report tbody tr").count()
    assert rows == 3  # two counties and the total
    check_page(page, "report-province")


def test_farmer_page_hears_a_new_alert_from_the_stream(db: TestDatabase, tmp_path: Path, browser: Any) -> None:
    """The alert worker (another process) opens an alert; the farmer's open page shows it in place."""
    from cloud.alerts.lifecycle import AlertEngine
    from cloud.alerts.model import AlertKey, Finding, Severity
    from cloud.alerts.store_pg import PgAlertStore
    from cloud.settings import CloudSettings
    from fuhuiyang.processes.api import build_app
    from messaging.publisher import RecordingPublisher
    from tests.api.conftest import SECRET

    with db.connect() as conn:
        world.seed(conn)
    settings = CloudSettings(database_url=db.url, database_schema=db.schema, jwt_secret=SECRET,
                             api_pool_size=2, frames_dir=tmp_path)
    app = build_app(settings, publisher=RecordingPublisher(), with_web=True, clock=lambda: world.NOW)
    with live_server(app, lifespan="on") as url:
        page = login(browser, url, "farmer1")
        banner = page.locator("#live")
        assert banner.is_hidden()
        for _ in range(250):  # until the page's EventSource has subscribed
            if app.state.alert_stream.subscribers:
                break
            page.wait_for_timeout(20)
        assert app.state.alert_stream.subscribers == 1
        with db.connect() as conn:
            AlertEngine(store=PgAlertStore(conn)).observe(Finding(
                key=AlertKey("f1", None, "nh3_high"), severity=Severity.CRITICAL, at=world.NOW, rule="test"))
        page.locator("#alerts h3", has_text="氨气偏高").wait_for(timeout=15_000)
        assert banner.is_hidden()  # drawn in place: no refresh needed
