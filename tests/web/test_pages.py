"""The web pages without a browser: each role's pages, forms, and what each role may not see."""

from __future__ import annotations

import json

from cloud.notify.budget import Action
from cloud.notify.ledger_pg import PgLedger
from tests.api import world
from tests.api.conftest import ApiWorld
from tests.api.test_sms_budget import budget_entry
from tests.web.conftest import browser_login


def test_login_page_and_redirects(web: ApiWorld) -> None:
    c = web.client
    c.cookies.clear()
    r = c.get("/farm", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert 'lang="zh-CN"' in c.get("/login").text
    bad = c.post("/login", data={"username": "farmer1", "password": "x"})
    assert bad.status_code == 401 and "用户名或密码错误" in bad.text
    browser_login(c, "farmer1")
    assert c.get("/", follow_redirects=False).headers["location"] == "/farm"
    assert c.get("/login?next=//evil.example", follow_redirects=False).status_code == 200
    r = c.post("/login", data={"username": "farmer1", "password": world.password("farmer1"),
                               "next": "//evil.example"}, follow_redirects=False)
    assert r.headers["location"] == "/"


def test_farmer_page_shows_flock_alerts_and_records_deaths(web: ApiWorld) -> None:
    c = browser_login(web.client, "farmer1")
    page = c.get("/farm").text
    assert "农场 f1" in page and "死亡数异常" in page and "隔离病鸡" in page
    assert "<svg" in page and "lvl-ok" in page  # weight chart, environment with its comfort band
    assert "农场 f3" not in page
    alert = web.ids["alerts"]["f1"]
    r = c.post(f"/farm/f1/alerts/{alert}/ack", follow_redirects=False)
    assert r.status_code == 303
    assert 'action="/farm/f1/alerts/' not in c.get("/farm").text  # no open alert left to acknowledge
    r = c.post("/farm/f1/records", data={"flock_id": world.flock("f1"), "day": str(world.TODAY), "deaths": "3",
                                         "feed_kg": "30.5"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    flock = c.get(f"/api/v1/flocks/{world.flock('f1')}").json()
    assert flock["birds_now"] == 291  # 300 placed, 6 deaths recorded earlier in the week, 3 today
    english = c.get("/lang/en?next=/farm", follow_redirects=True).text
    assert 'lang="en"' in english and "Deaths this week" in english


def test_farmer_cannot_open_other_farms_or_the_console(web: ApiWorld) -> None:
    c = browser_login(web.client, "farmer1")
    assert c.get("/farm?farm=f3").status_code == 404
    assert c.get("/console").status_code == 403
    assert c.get("/reports/v1").status_code == 403
    alert = web.ids["alerts"]["f3"]
    assert c.post(f"/farm/f3/alerts/{alert}/ack").status_code == 404


def test_cross_site_post_is_refused(web: ApiWorld) -> None:
    c = browser_login(web.client, "farmer1")
    alert = web.ids["alerts"]["f1"]
    r = c.post(f"/farm/f1/alerts/{alert}/ack", headers={"Origin": "https://evil.example"})
    assert r.status_code == 403


def test_technician_console_check_and_push(web: ApiWorld) -> None:
    c = browser_login(web.client, "tech1")
    console = c.get("/console").text
    assert "gw-f1" in console and "gw-f2" in console and "gw-f3" not in console
    gw = world.gateway("f2")
    bad = c.post(f"/console/gateways/{gw}/config", data={"config": '{"telemetry_batch_s": 0}', "action": "push",
                                                          "expected_version": "1"})
    assert bad.status_code == 422 and "telemetry_batch_s" in bad.text
    broken = c.post(f"/console/gateways/{gw}/config", data={"config": "{", "action": "check", "expected_version": "1"})
    assert broken.status_code == 422 and "JSON" in broken.text
    check = c.post(f"/console/gateways/{gw}/config",
                   data={"config": '{"telemetry_batch_s": 30}', "action": "check", "expected_version": "1"})
    assert check.status_code == 200 and "telemetry_batch_s" in check.text and "配置有效" in check.text
    push = c.post(f"/console/gateways/{gw}/config",
                  data={"config": '{"telemetry_batch_s": 30}', "action": "push", "expected_version": "1"},
                  follow_redirects=False)
    assert push.status_code == 303 and push.headers["location"].endswith("pushed=2")
    assert web.publisher.sent and web.publisher.sent[-1][0] == f"fhy/v1/{gw}/config/desired"
    assert c.get(f"/console/gateways/{world.gateway('f3')}").status_code == 404


def test_staff_drill_down_and_exports(web: ApiWorld) -> None:
    c = browser_login(web.client, "staff2")
    r = c.get("/reports", follow_redirects=False)
    assert r.headers["location"] == "/reports/c2"
    county = c.get("/reports/c2?start=2026-11-21&end=2026-11-29").text
    assert "湄潭县" in county and 'href="/reports/t3?' in county
    assert "每周死亡率" in county and "<th scope=\"row\">2026-11-21</th>" in county
    village = c.get("/reports/v3?start=2026-11-21&end=2026-11-29").text
    assert 'href="/farm?farm=f3"' in village
    farm = c.get("/farm?farm=f3").text
    assert "农场 f3" in farm and 'action="/farm/f3/records"' not in farm  # read only for programme staff
    assert c.get("/reports/c1").status_code == 404
    for fmt, magic in (("csv", b"\xef\xbb\xbf"), ("xlsx", b"PK"), ("pdf", b"%PDF")):
        r = c.get(f"/api/v1/reports/regions/c2/export?format={fmt}&start=2026-11-21&end=2026-11-29")
        assert r.status_code == 200 and r.content.startswith(magic), fmt


def test_static_assets_are_served_and_cached(web: ApiWorld) -> None:
    css = web.client.get("/static/app.css")
    assert css.status_code == 200 and "max-age" in css.headers["cache-control"]
    assert web.client.get("/static/app.js").status_code == 200


def test_technician_provisions_a_gateway_with_yaml_and_qr(web: ApiWorld) -> None:
    c = browser_login(web.client, "tech1")
    console = c.get("/console").text
    assert 'value="f2"' in console and 'value="f3"' not in console
    page = c.post("/console/provision", data={"farm_id": "f2", "gateway_id": "gw-web"})
    assert page.status_code == 200, page.text
    assert "gw-web" in page.text and "gateway.yaml" in page.text and "<svg" in page.text
    assert c.post("/console/provision", data={"farm_id": "f3"}).status_code == 404


def test_dead_bird_alert_shows_its_photo(web: ApiWorld) -> None:
    record = web.ids["mortality"]["f1"]
    with web.db.connect() as conn:
        conn.execute(
            "INSERT INTO alerts (type, severity, dedup_key, farm_id, house_id, event_start, evidence) "
            "VALUES ('dead_bird', 'warning', 'f1/h/dead_bird', 'f1', %s, now(), %s)",
            (world.house("f1"), json.dumps({"last": {"evidence": {"record_id": record, "camera": "cam1"}}})))
        conn.commit()
    page = browser_login(web.client, "farmer1").get("/farm").text
    alerts = page[page.index('id="alerts"'):page.index('id="photos"')]
    assert f'<img src="/photos/{record}"' in alerts


def test_acknowledging_on_the_farm_page_goes_through_the_alert_engine(web: ApiWorld) -> None:
    from tests.api.test_alert_ack import check_acknowledged, wait_for_feed

    wait_for_feed(web)
    c = browser_login(web.client, "farmer1")
    alert = web.ids["alerts"]["f1"]
    assert c.post(f"/farm/f1/alerts/{alert}/ack", follow_redirects=False).status_code == 303
    check_acknowledged(web, alert, "farmer1")


def test_the_technician_console_shows_the_sms_budget_per_person(web: ApiWorld) -> None:
    farmer1 = web.ids["users"]["farmer1"]
    with web.db.connect() as conn:
        PgLedger(conn).add(budget_entry(1, "f1", farmer1, Action.HELD, "over today's budget of 2"))
        conn.commit()
    page = browser_login(web.client, "tech1").get("/console").text
    assert 'id="sms-budget"' in page and "over today&#39;s budget of 2" in page and "1234" in page


def test_the_console_lists_provider_refusals_in_scope(web: ApiWorld) -> None:
    farmer1 = web.ids["users"]["farmer1"]
    with web.db.connect() as conn:
        for scope, code, cause in (("f1", "isv.MOBILE_NUMBER_ILLEGAL", "recipient"),
                                   ("f3", "isv.SMS_TEMPLATE_ILLEGAL", "template")):
            conn.execute(
                "INSERT INTO sms_refusals (at, provider, code, cause, template, user_id, phone, notification_key, "
                "detail, scope) VALUES (now(), 'aliyun', %s, %s, 'FHY_MORTALITY', %s, '+8613800005678', 'k', 'x', %s)",
                (code, cause, farmer1, scope),
            )
        conn.commit()
    page = browser_login(web.client, "tech1").get("/console").text
    assert 'id="sms-refused"' in page and "isv.MOBILE_NUMBER_ILLEGAL" in page and "5678" in page
    assert "isv.SMS_TEMPLATE_ILLEGAL" not in page  # f3 is outside this technician's scope
    assert "13800005678" not in page  # the number is masked
