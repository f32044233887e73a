"""What was half there: the full frame behind a crop, paged photos, icons and manifest, and an
API explorer that renders our OpenAPI 3.1 document in a real browser."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from psycopg.types.json import Jsonb

from tests.api import world
from tests.api.conftest import ApiWorld, make_world
from tests.support.databases import TestDatabase
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, live_server
from tests.web.conftest import browser_login

FRAME = f"ab/cd/{'ab' * 32}.jpg"  # the test world's evidence paths
CROP = f"cd/ef/{'cd' * 32}.jpg"


@pytest.fixture
def site(db: TestDatabase, tmp_path: Path) -> Iterator[ApiWorld]:
    for path, body in ((FRAME, b"\xff\xd8frame"), (CROP, b"\xff\xd8crop")):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(body)
    yield from make_world(db, with_web=True, frames_dir=tmp_path)


def test_the_full_frame_behind_a_crop(site: ApiWorld) -> None:
    c = browser_login(site.client, "farmer1")
    record = site.ids["mortality"]["f1"]
    assert f'href="/photos/{record}/frame"' in c.get("/farm").text
    assert c.get(f"/photos/{record}/frame").content == b"\xff\xd8frame"
    assert c.get(f"/photos/{record}").content == b"\xff\xd8crop"
    other = site.ids["mortality"]["f3"]
    assert c.get(f"/photos/{other}/frame").status_code == 404  # another farmer's photo


def test_photos_are_paged(site: ApiWorld) -> None:
    with site.db.connect() as conn:
        for n in range(13):
            conn.execute("INSERT INTO mortality_records (flock_id, house_id, farm_id, ts, count, source, evidence) "
                         "VALUES (%s, %s, 'f1', %s, 1, 'detector', %s)",
                         (world.flock("f1"), world.house("f1"), world.NOW - timedelta(hours=2 + n),
                          Jsonb({"frame": FRAME, "crop": CROP})))
    c = browser_login(site.client, "farmer1")
    first = c.get("/farm?farm=f1").text
    assert first.count('class="card photo"') == 6 and "1 / 3" in first and "photos=1#photos" in first
    last = c.get("/farm?farm=f1&photos=2").text
    assert last.count('class="card photo"') == 2 and "3 / 3" in last and "photos=1#photos" in last
    assert c.get("/farm?farm=f1&photos=-1").status_code == 422


def test_icon_and_manifest(site: ApiWorld) -> None:
    c = site.client
    assert c.get("/favicon.ico").headers["content-type"] == "image/png"
    manifest = c.get("/static/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    for icon in manifest.json()["icons"]:
        assert c.get(icon["src"]).headers["content-type"] == "image/png"
    assert 'rel="manifest"' in c.get("/login").text


@pytest.mark.skipif(not CHROMIUM.exists(), reason="BROWSER TESTS NOT RUN: apt-get install chromium")
def test_api_explorer_renders_the_openapi_31_document(site: ApiWorld) -> None:
    playwright_sync = pytest.importorskip("playwright.sync_api")
    assert site.client.get("/openapi.json").json()["openapi"].startswith("3.1")
    with live_server(site.client.app) as url, playwright_sync.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page()
        page.goto(f"{url}/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert any("/api/v1/farms" in p for p in paths)
        assert "Unable to render" not in page.content()
        browser.close()
