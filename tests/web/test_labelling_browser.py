"""Labelling in a real browser (Debian's Chromium via Playwright) at a laptop's 1366 px with a mouse.

The console flags the camera the detector cannot read; the technician follows it to the camera's
frames, opens one, moves one of the detector's boxes, deletes another, draws a dead bird, saves,
and exports the farm's set: the zip's label file is exactly what was drawn.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from psycopg.types.json import Jsonb

from cloud.frames_store import LocalFrameStore
from tests.api import world
from tests.api.conftest import ApiWorld, make_world
from tests.api.test_labels import GW, H, W, add_frame
from tests.support.databases import TestDatabase
from tests.web.browser import A11Y_JS, CHROMIUM, drag_on_frame, live_server
from tests.web.test_browser import SHOTS

pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="BROWSER TESTS NOT RUN: apt-get install chromium")
LAPTOP = {"width": 1366, "height": 900}
BIRD_A, BIRD_B, BIRD_C = (60.0, 50.0, 110.0, 90.0), (200.0, 140.0, 250.0, 180.0), (250.0, 40.0, 300.0, 80.0)


@pytest.fixture
def site(db: TestDatabase, tmp_path: Path) -> Iterator[tuple[ApiWorld, str]]:
    store = LocalFrameStore(tmp_path)
    for api in make_world(db, with_web=True, frames=store):
        # Six lit frames today in which the detector finds three birds of a house of 290: the camera
        # is one the detector cannot read yet. Frame 50 is the one the technician corrects.
        for seq in range(45, 51):
            add_frame(api, store, seq, minutes_ago=60 - seq, detections=[
                ("chicken", 0.6, BIRD_A), ("chicken", 0.5, BIRD_B), ("chicken", 0.4, BIRD_C)])
        with live_server(api.client.app) as url:
            yield api, url


def check_page(page: Any, shot: str) -> None:
    problems = page.evaluate(A11Y_JS)
    assert problems == [], (page.url, problems)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{shot}.png"), full_page=True)


def drag(page: Any, start: tuple[float, float], end: tuple[float, float]) -> None:
    drag_on_frame(page, (W, H), start, end)


def rows(text: str) -> list[tuple[int, tuple[float, ...]]]:
    """YOLO rows back to (class, pixel box), sorted."""
    out = []
    for line in text.splitlines():
        c, cx, cy, w, h = (float(v) for v in line.split())
        out.append((int(c), ((cx - w / 2) * W, (cy - h / 2) * H, (cx + w / 2) * W, (cy + h / 2) * H)))
    return sorted(out)


def close(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(abs(x - y) <= 1.5 for x, y in zip(a, b, strict=True))


def test_technician_corrects_boxes_and_exports_the_set(site: tuple[ApiWorld, str], browser: Any) -> None:
    api, url = site
    page = browser.new_context(viewport=LAPTOP, accept_downloads=True, locale="zh-CN").new_page()
    page.goto(f"{url}/login")
    page.get_by_label("用户名").fill("tech1")
    page.get_by_label("密码").fill(world.password("tech1"))
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
    assert page.url.endswith("/console")
    flagged = page.locator("#blind-cameras").inner_text()
    assert f"{GW}/cam1" in flagged and "检测器还看不懂" in flagged and "认出的鸡远少于应有数量" in flagged
    assert world.gateway("f2") not in flagged  # no frames judged there: nothing to say
    check_page(page, "console-detector-health")

    page.locator("#blind-cameras").get_by_role("link", name="去标注").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == f"标注画面 · {GW}/cam1"
    assert page.locator(".frames li").count() == 7  # not labelled yet: these six and the world's own frame
    check_page(page, "labels-camera")
    # Frames to label first: the six readable ones (all alike here); the world's own frame has
    # no image in this store and is said to be left out.
    page.get_by_role("link", name="先标这些").click()
    page.wait_for_load_state()
    assert page.locator(".frames li").count() == 6
    assert "1 张画面读不出" in page.locator("#suggested-note").inner_text()
    check_page(page, "labels-suggested")
    page.get_by_role("link", name=f"{GW}/cam1 #50").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == f"标注 {GW}/cam1 #50"
    page.wait_for_function("document.querySelectorAll('#boxes g.box').length === 3")
    check_page(page, "label-frame")

    # Move bird A 40 px right and 20 px down; delete bird B; draw a dead bird on empty floor.
    drag(page, (85, 70), (125, 90))
    drag(page, (225, 160), (225, 160))  # a click selects it
    page.keyboard.press("Delete")
    page.get_by_label("死鸡", exact=True).check()
    drag(page, (120, 170), (180, 215))
    assert page.locator("#boxes g.box").count() == 3
    assert page.locator("#boxes g.cls-dead").count() == 1
    page.get_by_role("button", name="保存").click()
    page.get_by_role("status").filter(has_text="已保存").wait_for()
    assert page.get_by_role("status").inner_text() == "已保存: 3 个框"
    assert page.locator("#in-set").inner_text() == "已标注"

    page.get_by_role("link", name=f"标注画面 · {GW}/cam1").click()
    page.wait_for_load_state()
    with page.expect_download() as info:
        page.get_by_role("link", name="导出 YOLO 数据集（zip）").click()
    with zipfile.ZipFile(io.BytesIO(Path(info.value.path()).read_bytes())) as z:
        assert "data.yaml" in z.namelist() and "1: dead" in z.read("data.yaml").decode()
        labels = [n for n in z.namelist() if n.startswith("labels/")]
        assert len(labels) == 1 and labels[0].startswith(f"labels/{GW}_cam1_50_")
        got = rows(z.read(labels[0]).decode())
    expected = sorted([(0, (100.0, 70.0, 150.0, 110.0)), (0, BIRD_C), (1, (120.0, 170.0, 180.0, 215.0))])
    assert [c for c, _ in got] == [c for c, _ in expected]
    assert all(close(g, e) for (_, g), (_, e) in zip(got, expected, strict=True)), got

    # The technician knows this camera sees a corner, 1 % of the house: too few birds in view to
    # judge the detector by counting, so the console stops flagging it.
    page.locator("#share").fill("0.01")
    page.locator("#view-share").get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    assert page.locator("#share").input_value() == "0.01"
    assert "检测器还看不懂" not in page.locator("#cameras + .scroll table").inner_text()
    page.goto(f"{url}/console")
    assert page.locator("#blind-cameras").count() == 0 and "所有摄像头的检测正常" in page.content()
    # In English; another area's frames are not found.
    page.goto(f"{url}/console/labels/{GW}/50")
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == f"Label {GW}/cam1 #50"
    page.wait_for_function("document.querySelectorAll('#boxes g.box').length === 3")  # the saved labels
    check_page(page, "label-frame-en")
    assert page.goto(f"{url}/console/labels/{world.gateway('f3')}/1").status == 404

    # A report rejected an hour ago keeps its spot quiet; the technician lets it report again.
    with api.db.connect() as conn:
        path = conn.execute("SELECT path FROM frames WHERE gateway_id = %s AND seq = 50", (GW,)).fetchone()[0]
        conn.execute("INSERT INTO mortality_records (flock_id, house_id, farm_id, ts, count, source, evidence, "
                     "confirmed) VALUES (%s, %s, 'f1', now() - interval '1 hour', 1, 'detector', %s, false)",
                     (world.flock("f1"), world.house("f1"),
                      Jsonb({"gateway_id": GW, "camera": "cam1", "box": list(BIRD_C), "frame": path, "crop": path})))
        conn.commit()
    page.goto(f"{url}/console/labels?camera={GW}/cam1")
    assert page.locator("#quiet").inner_text() == "Quiet spots (1)"
    check_page(page, "labels-quiet-spots-en")
    page.locator(".quiet").get_by_role("button", name="Report here again").click()
    page.wait_for_load_state()
    assert page.locator("#quiet").count() == 0

    # Another rejected report lies on the OSD text: never report there; then the zone is removed.
    with api.db.connect() as conn:
        conn.execute("INSERT INTO mortality_records (flock_id, house_id, farm_id, ts, count, source, evidence, "
                     "confirmed) VALUES (%s, %s, 'f1', now() - interval '1 hour', 1, 'detector', %s, false)",
                     (world.flock("f1"), world.house("f1"),
                      Jsonb({"gateway_id": GW, "camera": "cam1", "box": [4, 4, 60, 18], "frame": path, "crop": path})))
        conn.commit()
    page.goto(f"{url}/console/labels?camera={GW}/cam1")
    page.locator(".quiet").get_by_role("button", name="Never report here").click()
    page.wait_for_load_state()
    assert page.locator("#quiet").count() == 0
    assert page.locator("#zones").inner_text() == "No-report zones (1)"
    assert "x 0–88, y 0–25" in page.locator(".zones li").inner_text()
    assert page.locator(".zone-view rect").evaluate("r => [r.x.baseVal.value, r.width.baseVal.value]") == [0, 88]
    check_page(page, "labels-ignore-zones-en")
    with api.db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM camera_ignore_zones").fetchone() == (1,)
    page.locator(".zones").get_by_role("button", name="Remove zone").click()
    page.wait_for_load_state()
    assert page.locator("#zones").inner_text() == "No-report zones (0)"
    with api.db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM camera_ignore_zones").fetchone() == (0,)

    # A zone typed in frame pixels, before anything was ever reported there.
    for field, value in (("x1", "250"), ("y1", "215"), ("x2", "320"), ("y2", "240")):
        page.fill(f"#zone-{field}", value)
    page.locator("#zone-box").get_by_role("button", name="Add zone").click()
    page.wait_for_load_state()
    assert "x 250–320, y 215–240" in page.locator(".zones li").inner_text()
    with api.db.connect() as conn:
        assert conn.execute("SELECT x1, y1, x2, y2, from_record FROM camera_ignore_zones").fetchall() == [
            (250, 215, 320, 240, None)]

    # A zone dragged on the frame fills the same form, in frame pixels.
    view = page.locator("svg.zone-view")
    width, height = view.evaluate("s => [s.viewBox.baseVal.width, s.viewBox.baseVal.height]")
    shown = view.bounding_box()
    assert shown is not None
    page.mouse.move(shown["x"] + 0.1 * shown["width"], shown["y"] + 0.2 * shown["height"])
    page.mouse.down()
    page.mouse.move(shown["x"] + 0.25 * shown["width"], shown["y"] + 0.3 * shown["height"], steps=5)
    page.mouse.move(shown["x"] + 0.3 * shown["width"], shown["y"] + 0.4 * shown["height"], steps=5)
    page.mouse.up()
    typed = [float(page.input_value(f"#zone-{f}")) for f in ("x1", "y1", "x2", "y2")]
    expected = [0.1 * width, 0.2 * height, 0.3 * width, 0.4 * height]
    assert all(abs(a - b) <= 0.01 * width for a, b in zip(typed, expected, strict=True)), (typed, expected)
    assert page.locator(".zone-view rect.drawn").count() == 1
    page.locator("#zone-box").get_by_role("button", name="Add zone").click()
    page.wait_for_load_state()
    assert page.locator("#zones").inner_text() == "No-report zones (2)"
    with api.db.connect() as conn:
        assert conn.execute("SELECT x1, y1, x2, y2 FROM camera_ignore_zones WHERE x1 <> 250").fetchall() == [
            tuple(typed)]
