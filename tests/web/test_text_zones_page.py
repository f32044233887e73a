"""The camera's labelling page proposes the text burned into its frames as no-report zones, and
one click on a proposal's button makes it one (real PostgreSQL and frame store)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud.frames_store import LocalFrameStore
from tests.api.conftest import ApiWorld, make_world
from tests.api.test_labels import GW, add_frame, osd_frame
from tests.support.databases import TestDatabase
from tests.web.conftest import browser_login

PAGE = f"/console/labels?camera={GW}/cam1"


@pytest.fixture
def web_frames(db: TestDatabase, tmp_path: Path) -> Iterator[ApiWorld]:
    store = LocalFrameStore(tmp_path)
    for api in make_world(db, with_web=True, frames=store):
        for k in range(8):
            add_frame(api, store, 100 + k, minutes_ago=600 - 60 * k, image=osd_frame(k))
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
