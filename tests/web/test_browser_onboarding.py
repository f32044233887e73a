"""Onboarding a farm end to end in Chromium: a technician at 1366 px creates the farm, a house,
a flock and the farmer's account and provisions the gateway; its first readings then show on the
farmer's page at 360 px. Screenshots of the new pages go with the others."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api import world
from tests.api.conftest import ApiWorld
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, sign_in
from tests.web.test_browser import check_page

playwright_sync = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="BROWSER TESTS NOT RUN: apt-get install chromium")
DESK = {"width": 1366, "height": 900}
PHONE = {"width": 360, "height": 780}



def test_a_farm_from_nothing_to_its_first_readings(site: tuple[ApiWorld, str]) -> None:
    api, url = site
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        tech = sign_in(browser, url, "tech1", world.password("tech1"), DESK)
        tech.get_by_role("link", name="农场管理").click()
        check_page(tech, "onboard-farms")
        tech.get_by_label("农场名称").fill("李家鸡场")
        tech.get_by_label("乡镇").select_option("t2")
        tech.locator("#farm-village").fill("大都村")
        tech.get_by_role("button", name="创建").click()
        tech.wait_for_load_state()
        assert tech.get_by_role("heading", level=1).inner_text() == "李家鸡场"
        tech.get_by_label("鸡舍名称").fill("一号舍")
        tech.get_by_role("button", name="添加鸡舍").click()
        tech.wait_for_load_state()
        tech.get_by_label("品种").select_option("local_xiushan")
        tech.get_by_label("入栏数").fill("120")
        tech.get_by_label("入栏日期").fill(str(world.TODAY - timedelta(days=30)))
        tech.get_by_role("button", name="入栏").click()
        tech.wait_for_load_state()
        assert "秀山土鸡 · 120 只" in tech.locator("#flocks").inner_text()
        tech.get_by_label("手机号").fill("13600001111")
        tech.get_by_label("姓名").fill("李大哥")
        tech.get_by_role("button", name="添加养殖户").click()
        tech.wait_for_load_state()
        password = tech.locator("#new-farmer-password").inner_text()
        check_page(tech, "onboard-farm")
        tech.get_by_label("网关编号（可不填，自动生成）").fill("gw-li")
        tech.get_by_role("button", name="注册").click()
        tech.wait_for_load_state()
        assert tech.locator("#new-gateway").inner_text() == "gw-li"
        tech.goto(f"{url}/console/gateways/gw-li")
        check_page(tech, "gateway-settings")

        with api.db.connect() as conn:  # the gateway's first readings, as ingest stores them
            house = conn.execute("SELECT h.id FROM houses h JOIN farms f ON f.id = h.farm_id "
                                 "WHERE f.name = '李家鸡场'").fetchone()
            assert house is not None
            for h in range(3):
                conn.execute("INSERT INTO readings (ts, gateway_id, seq, idx, house_id, sensor_id, metric, value) "
                             "VALUES (%s, 'gw-li', %s, 0, %s, 'env1', 'temperature_c', 24.5)",
                             (world.NOW - timedelta(hours=h), h + 1, house[0]))
        farmer = sign_in(browser, url, "13600001111", password, PHONE)
        assert farmer.url.endswith("/farm")
        assert farmer.get_by_role("heading", level=1).inner_text() == "李家鸡场"
        assert "24.5" in farmer.locator("main").inner_text()
        check_page(farmer, "onboarded-farmer")

        admin = sign_in(browser, url, "admin", world.password("admin"), DESK)
        admin.goto(f"{url}/console/users")
        check_page(admin, "users")
        phone = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
        phone.goto(f"{url}/login")
        phone.get_by_label("手机号").fill("13600001111")
        phone.get_by_role("button", name="发送验证码").click()
        phone.wait_for_load_state()
        check_page(phone, "login-code")
        browser.close()
