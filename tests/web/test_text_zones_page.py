"""The camera's labelling page proposes the text burned into its frames as no-report zones, and
one click on a proposal's button makes it one (real PostgreSQL and frame store; the last test in
Debian's Chromium, with the accessibility check)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloud.frames_store import LocalFrameStore
from tests.api import world
from tests.api.conftest import ApiWorld, make_world
from tests.api.test_labels import GW, add_frame, osd_frame
from tests.support.databases import TestDatabase
from tests.web.browser import CHROMIUM, live_server
from tests.web.conftest import browser_login
from tests.web.test_labelling_browser import LAPTOP, check_page

PAGE = f"/console/labels?camera={GW}/cam1"


@pytest.fixture
def web_frames(db: TestDatabase, tmp_path: Path) -> Iterator[ApiWorld]:
    store = LocalFrameStore(tmp_path)
    for api in make_world(db, with_web=True, frames=store):
        for k in range(8):  # newer than the world's own frame: the page draws zones on the newest
            add_frame(api, store, 100 + k, minutes_ago=9 - k, image=osd_frame(k))
        yield api


def proposals(page: str) -> list[dict[str, str]]:
    """The hidden fields of each proposal's form."""
    block = page.split('<ul class="proposed-zones">', 1)[1].split("</ul>", 1)[0] if "proposed-zones" in page else ""
    return [dict(re.findall(r'name="(\w+)" value="([^"]*)"', html.unescape(form)))
            for form in re.findall(r"<form.*?</form>", block, flags=re.S)]


def test_a_technician_adds_the_proposed_on_screen_text_as_a_zone(web_frames: ApiWorld) -> None:
    client = browser_login(web_frames.client, "tech1")
    page = client.get(PAGE)
    assert page.status_code == 200
    found = proposals(page.text)
    assert len(found) == 2 and page.text.count('class="proposed"') == 2  # listed and drawn on the frame
    assert "On-screen text" in page.text or "屏幕文字" in page.text

    added = client.post("/console/labels/ignore-zones/box", data=found[0], follow_redirects=False)
    assert added.status_code == 303
    page = client.get(PAGE).text
    assert proposals(page) == [found[1]]  # the zone took it over
    with web_frames.db.connect() as conn:
        zone = conn.execute("SELECT x1, y1, x2, y2 FROM camera_ignore_zones").fetchall()
    assert [tuple(float(v) for v in z) for z in zone] == [tuple(float(found[0][f]) for f in ("x1", "y1", "x2", "y2"))]

    assert proposals(client.get(f"{PAGE}&show=todo").text) == []  # looked for on the camera's first page only


def test_the_console_flags_a_camera_whose_text_has_no_zone(web_frames: ApiWorld, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from fuhuiyang.commands.cloud import cloud

    client = browser_login(web_frames.client, "tech1")
    assert 'id="text-unzoned-cameras"' not in client.get("/console").text  # nothing looked for yet
    for key, value in {**web_frames.db.env(), "FUHUIYANG_FRAMES_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(key, value)
    assert CliRunner().invoke(cloud, ["find-text"]).exit_code == 0  # the daily search
    console = client.get("/console").text
    flagged = console.split('id="text-unzoned-cameras"', 1)[1].split("</ul>", 1)[0]
    assert f"{GW}/cam1" in flagged and ("2 piece(s)" in flagged or "2 处" in flagged)
    assert f'href="/console/labels?camera={GW}/cam1#zones"' in html.unescape(flagged).replace("%2F", "/")
    assert "2 piece(s)" in client.get("/console/labels").text or "2 处" in client.get("/console/labels").text

    for found in proposals(client.get(PAGE).text):  # both added as zones: no flag left
        assert client.post("/console/labels/ignore-zones/box", data=found, follow_redirects=False).status_code == 303
    assert 'id="text-unzoned-cameras"' not in client.get("/console").text


@pytest.mark.skipif(not CHROMIUM.exists(), reason="BROWSER TESTS NOT RUN: apt-get install chromium")
def test_in_a_browser_the_proposals_are_drawn_and_one_click_adds_a_zone(web_frames: ApiWorld, browser: Any) -> None:
    pytest.importorskip("playwright.sync_api")
    with live_server(web_frames.client.app) as url:
        page = browser.new_context(viewport=LAPTOP, locale="zh-CN").new_page()
        page.goto(f"{url}/login")
        page.get_by_label("用户名").fill("tech1")
        page.get_by_label("密码").fill(world.password("tech1"))
        page.get_by_role("button", name="登录").click()
        page.wait_for_load_state()
        page.goto(f"{url}{PAGE}")
        assert page.locator("svg.zone-view rect.proposed").count() == 2
        assert page.locator(".proposed-zones li").count() == 2
        check_page(page, "labels-text-zones")
        page.locator(".proposed-zones li").first.get_by_role("button", name="加为不报告区域").click()
        page.wait_for_load_state()
        assert page.locator("#zones").inner_text() == "不报告区域 (1)"
        assert page.locator(".proposed-zones li").count() == 1
        assert page.locator("svg.zone-view rect.proposed").count() == 1
