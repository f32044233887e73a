"""Config as a form: generated from the gateway settings model, checked by the same models,
a diff before pushing, and the gateway's answer (applied / refused / rolled back) shown."""

from __future__ import annotations

import json
import time

import pytest

from cloud.ingest.writer import APPLIED_SQL
from cloud.web.config_form import config_fields, form_rows, overlay_from_form
from tests.api import world
from tests.api.conftest import ApiWorld
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, sign_in
from tests.web.conftest import browser_login

GW = world.gateway("f1")


def test_the_form_is_generated_from_the_settings_model() -> None:
    fields = {f.name: f for f in config_fields()}
    batch = fields["telemetry_batch_s"]
    assert batch.kind == "number" and batch.unit("zh-CN") == "秒" and batch.range_text() == "> 0"
    assert fields["utc_offset_h"].range_text() == "≥ -12, ≤ 14"
    assert fields["flock.breed"].kind == "choice" and "yellow_feather" in fields["flock.breed"].choices
    assert fields["flock.placed_on"].kind == "date"
    assert {"outbox.max_mb", "rules.temperature_emergency_c", "summary_hour"} <= set(fields)
    assert not any(name.startswith(("sensors", "cameras", "scale")) for name in fields)  # devices stay JSON
    rows = {r["field"].name: r for r in form_rows({"telemetry_batch_s": 60}, {"telemetry_batch_s": 30}, "zh-CN")}
    assert rows["telemetry_batch_s"]["label"] == "数据上传间隔"
    assert (rows["telemetry_batch_s"]["applied"], rows["telemetry_batch_s"]["desired"]) == (60, 30)


def test_a_form_sets_clears_and_keeps_devices() -> None:
    old = {"telemetry_batch_s": 60, "sensors": [{"id": "t1"}], "outbox": {"max_mb": 100.0}}
    new, problems = overlay_from_form(old, {"telemetry_batch_s": "30", "outbox.max_mb": "", "rules.nh3_critical_ppm": "22",
                                            "action": "check"})
    assert not problems
    assert new == {"telemetry_batch_s": 30.0, "sensors": [{"id": "t1"}], "rules": {"nh3_critical_ppm": 22.0}}
    assert old["outbox"] == {"max_mb": 100.0}  # the stored overlay is not touched
    _, problems = overlay_from_form(old, {"telemetry_batch_s": "soon", "flock.placed_on": "2026-13-01"})
    assert len(problems) == 2


def test_check_shows_a_diff_in_words_push_stores_and_the_answer_shows(web: ApiWorld) -> None:
    c = browser_login(web.client, "tech1")
    page = c.get(f"/console/gateways/{GW}").text
    assert 'name="outbox.max_mb"' in page and "断网缓存上限 (MB)" in page and "网关尚未回复" in page
    bad = c.post(f"/console/gateways/{GW}/settings", data={"telemetry_batch_s": "-5", "action": "check",
                                                           "expected_version": "1"})
    assert bad.status_code == 422 and "telemetry_batch_s" in bad.text
    checked = c.post(f"/console/gateways/{GW}/settings", data={"telemetry_batch_s": "30", "action": "check",
                                                               "expected_version": "1"})
    assert checked.status_code == 200 and "数据上传间隔" in checked.text and '<td class="new">30.0</td>' in checked.text
    pushed = c.post(f"/console/gateways/{GW}/settings", data={"telemetry_batch_s": "30", "action": "push",
                                                              "expected_version": "1"}, follow_redirects=False)
    assert pushed.status_code == 303
    assert c.get(f"/api/v1/gateways/{GW}").json()["desired_version"] == 2
    topic, payload = web.publisher.sent[-1]
    assert topic.endswith(f"{GW}/config/desired") and json.loads(payload)["config"]["telemetry_batch_s"] == 30.0
    with web.db.connect() as conn:  # the gateway refuses, as ingest records its answer
        conn.execute(APPLIED_SQL, ([GW], [int(time.time() * 1000)], [2], ["rejected"], ["scale: port busy"]))
    answer = c.get(f"/console/gateways/{GW}").text
    assert "网关回复 v2: <strong" in answer and "被拒绝" in answer and "scale: port busy" in answer
    other = c.get(f"/console/gateways/{world.gateway('f3')}")
    assert other.status_code == 404  # another area's gateway



@pytest.mark.skipif(not CHROMIUM.exists(), reason="BROWSER TESTS NOT RUN: apt-get install chromium")
def test_config_form_round_trip_in_a_browser(site: tuple[ApiWorld, str]) -> None:
    playwright_sync = pytest.importorskip("playwright.sync_api")
    api, url = site
    with playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = sign_in(browser, url, "tech1", world.password("tech1"), {"width": 1366, "height": 900})
        page.goto(f"{url}/console/gateways/{GW}")
        page.get_by_label("高温报警 (°C)").fill("33")
        page.locator("#settings").get_by_role("button", name="检查").click()
        page.wait_for_load_state()
        assert "高温报警" in page.locator("table.diff").inner_text()
        page.locator("#settings").get_by_role("button", name="推送").click()
        page.wait_for_load_state()
        assert "等待网关应用新配置" in page.locator("#answer").inner_text()
        with api.db.connect() as conn:  # the gateway applies it; ingest writes its answer
            conn.execute(APPLIED_SQL, ([GW], [int(time.time() * 1000)], [2], ["applied"], [None]))
        page.locator("#answer", has_text="已生效").wait_for(timeout=15_000)  # the page polls for the answer
        assert "v2" in page.locator("#answer").inner_text()
        browser.close()
