"""A camera's labelling page says which model judges its next frames, as the detection worker
picks it (the camera's own, else its farm's, else the default), and how an adapted one was made,
with why it holds fewer networks than it could (real PostgreSQL, the deployment's registry file)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloud.detect.registry import load_entry
from cloud.frames_store import LocalFrameStore
from tests.api.conftest import ApiWorld, make_world
from tests.api.test_labels import GW, add_frame
from tests.support.databases import TestDatabase
from tests.web.conftest import browser_login

PAGE = f"/console/labels?camera={GW}/cam1"


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def console(db: TestDatabase, tmp_path: Path, models_dir: Path) -> Iterator[ApiWorld]:
    store = LocalFrameStore(tmp_path / "frames")
    for api in make_world(db, with_web=True, frames=store, models_dir=models_dir):
        add_frame(api, store, 100, minutes_ago=5)
        yield api


def adapted(name: str, scope: dict[str, str | None], networks: int, first_s: int) -> dict[str, Any]:
    """A registry entry as `fuhuiyang models adapt` writes it for the COCO start (the page reads
    the registry only; the weights are the worker's business)."""
    return {"file": f"{name}.onnx", "sha256": "0" * 64, "input_size": 480, "classes": ["chicken", "dead"],
            "networks": networks, "scope": scope,
            "adapted": {"start": "nanodet-m-coco", "frames": 10, "boxes": 21, "networks": networks,
                        "networks_most": 4, "first_network_s": first_s, "minutes": 15.0, "date": "2026-12-07"}}


def register(models_dir: Path, **entries: dict[str, Any]) -> None:
    models_dir.mkdir(parents=True, exist_ok=True)
    (models_dir / "registry.json").write_text(json.dumps({"models": entries}))


def model_card(page: str) -> str:
    section = page.split('id="model"', 1)[1].split("</section>", 1)[0]
    return html.unescape(re.sub(r"<[^>]+>", " ", section))


def test_the_page_names_the_model_the_worker_picks_for_the_camera(console: ApiWorld, models_dir: Path) -> None:
    client = browser_login(console.client, "tech1")
    shown = model_card(client.get(PAGE).text)
    assert load_entry().name in shown and "fewer-networks" not in shown  # nothing adapted yet: the default

    farm_model = adapted("f1-all", {"farm_id": "f1", "camera": None}, networks=4, first_s=170)
    register(models_dir, **{"f1-all": farm_model})
    page = client.get(PAGE).text
    shown = model_card(page)
    assert "f1-all" in shown and "2026-12-07" in shown and 'id="fewer-networks"' not in page  # four of four

    own = adapted("f1-cam1", {"farm_id": None, "camera": f"{GW}/cam1"}, networks=2, first_s=310)
    register(models_dir, **{"f1-all": farm_model, "f1-cam1": own})  # the camera's own wins over the farm's
    page = client.get(PAGE).text
    shown = model_card(page)
    assert "f1-cam1" in shown and "f1-all" not in shown
    fewer = html.unescape(re.search(r'id="fewer-networks">(.*?)</p>', page, flags=re.S).group(1))
    assert re.search(r"\b2\b.*\b4\b", fewer) and "310" in fewer and "15" in fewer  # why two, and what to do


def test_an_unreadable_registry_is_said_on_the_page_and_read_once_mended(console: ApiWorld,
                                                                          models_dir: Path) -> None:
    models_dir.mkdir(parents=True)
    (models_dir / "registry.json").write_text('{"models": {"half-writ')  # a hand edit gone wrong
    client = browser_login(console.client, "tech1")
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "FUHUIYANG_MODELS_DIR" in model_card(page.text)

    register(models_dir, **{"f1-cam1": adapted("f1-cam1", {"farm_id": None, "camera": f"{GW}/cam1"}, 4, 150)})
    assert "f1-cam1" in model_card(client.get(PAGE).text)
