"""A technician asks, on a camera's labelling page, for the camera's own model; the adapt worker
takes the request, adapts from the camera's labelled frames and registers the model for that
camera; the page follows the request from queued to done or failed (real PostgreSQL, frame
store and, in the last test, real training)."""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cloud.api.services.labels import ADAPT_MIN_FRAMES
from cloud.db import connect
from cloud.detect.scoped import ModelCatalog
from cloud.frames_store import LocalFrameStore
from models.adapt import AdaptError, AdaptSpec, Progress, Scope
from models.adapt_worker import WorkerConfig, model_name, run_once
from models.evaluate import image_files
from tests.api import world
from tests.api.conftest import ApiWorld, make_world
from tests.api.test_labels import GW, add_frame
from tests.support.databases import TestDatabase
from tests.web.conftest import browser_login

PAGE = f"/console/labels?camera={GW}/cam1"
ROOT = Path(__file__).resolve().parents[2]
HAS_TRAIN = all(importlib.util.find_spec(m) is not None for m in ("torch", "ultralytics"))
BIRD = [120, 98, 200, 142]  # the ellipse add_frame draws


@pytest.fixture
def site(db: TestDatabase, tmp_path: Path) -> Iterator[tuple[ApiWorld, LocalFrameStore]]:
    store = LocalFrameStore(tmp_path / "frames")
    for api in make_world(db, with_web=True, frames=store, models_dir=tmp_path / "models"):
        yield api, store


def label_frames(api: ApiWorld, store: LocalFrameStore, seqs: range) -> None:
    for seq in seqs:
        add_frame(api, store, seq, minutes_ago=60 - seq)
        r = api.client.put(f"/api/v1/frames/{GW}/{seq}/labels", headers=api.headers("tech1"),
                           json={"boxes": [{"cls": "chicken", "box": BIRD}]})
        assert r.status_code == 200, r.text


def adapt_state(page: str) -> str:
    found = re.search(r'id="adapt-state"[^>]*>(.*?)</p>', page, flags=re.S)
    return html.unescape(found.group(1)).strip() if found else ""


def worker(api: ApiWorld, store: LocalFrameStore, models_dir: Path, adapt_fn: Any) -> dict[str, Any] | None:
    with connect(api.db.url, api.db.schema) as conn:
        return run_once(conn, store.read, WorkerConfig(models_dir=models_dir, minutes=2), adapt_fn)


def started_at(api: ApiWorld, request_id: int) -> datetime:
    with api.db.connect() as conn:
        started: datetime = conn.execute("SELECT started_at FROM adapt_requests WHERE id = %s",
                                         (request_id,)).fetchone()[0]
    return started


def test_the_console_queues_a_request_the_worker_settles(site: tuple[ApiWorld, LocalFrameStore],
                                                          tmp_path: Path) -> None:
    api, store = site
    client = browser_login(api.client, "tech1")
    label_frames(api, store, range(10, 10 + ADAPT_MIN_FRAMES - 1))
    page = client.get(PAGE).text
    assert 'id="adapt-needs"' in page and 'id="adapt"' not in page  # one frame short
    refused = client.post("/console/labels/adapt", data={"camera": f"{GW}/cam1"}, follow_redirects=False)
    assert refused.status_code == 422

    label_frames(api, store, range(20, 21))
    page = client.get(PAGE).text
    assert 'id="adapt"' in page and re.search(r'id="adapt">[^<]*\b5\b[^<]*\b5\b', page)  # 5 frames, 5 birds
    assert 'id="adapt-few-birds"' in page  # said, not refused
    many = [{"cls": "chicken", "box": [10 + 30 * k, 10, 38 + 30 * k, 40]} for k in range(8)]
    assert api.client.put(f"/api/v1/frames/{GW}/10/labels", headers=api.headers("tech1"),
                          json={"boxes": many}).status_code == 200
    assert 'id="adapt-few-birds"' not in client.get(PAGE).text  # 12 birds now
    for _ in range(2):  # asking twice while one waits adds nothing
        asked = client.post("/console/labels/adapt", data={"camera": f"{GW}/cam1"}, follow_redirects=False)
        assert asked.status_code == 303 and asked.headers["location"].endswith("#model")
    page = client.get(PAGE).text
    assert adapt_state(page).startswith(("已排队", "Queued")) and 'id="adapt"' not in page
    via_api = api.client.get(f"/api/v1/cameras/{GW}/cam1/adapt", headers=api.headers("tech1")).json()
    assert via_api["state"] == "queued"

    seen: dict[str, Any] = {}

    def fake_adapt(spec: AdaptSpec, report: Progress) -> dict[str, Any]:  # what the worker hands the adaptation
        seen.update(spec=spec, images=len(image_files(spec.data)), yaml=(spec.data / "data.yaml").read_text())
        report({"stage": "training", "network": 2, "networks_most": 4})
        seen["running"] = adapt_state(client.get(PAGE).text)  # the page while it trains
        shown = api.client.get(f"/api/v1/cameras/{GW}/cam1/adapt", headers=api.headers("tech1")).json()
        seen["api"] = {k: shown[k] for k in ("state", "budget_minutes", "progress")}
        return {"model": spec.name, "adapted": {"frames": 5, "boxes": 5, "networks": 4, "seconds": 600.0,
                                                "start": "nanodet-m-coco", "date": "2026-12-07", "data": "x"}}

    models_dir = tmp_path / "models"
    done = worker(api, store, models_dir, fake_adapt)
    assert done is not None and done["state"] == "done"
    name = model_name(GW, "cam1", done["id"])
    spec: AdaptSpec = seen["spec"]
    assert spec.name == name and spec.scope == Scope("f1", f"{GW}/cam1") and spec.models_dir == models_dir
    assert seen["images"] == ADAPT_MIN_FRAMES and "0: chicken" in seen["yaml"]
    ready = (started_at(api, done["id"]) + timedelta(minutes=2)).strftime("%H:%M")  # the worker's budget, not a fixed 15
    assert seen["running"].startswith(("正在训练", "Adapting")) and ready in seen["running"]
    assert "2" in seen["running"].split(ready)[-1] and "4" in seen["running"].split(ready)[-1]  # network 2 of 4
    assert seen["api"] == {"state": "running", "budget_minutes": 2.0,
                           "progress": {"stage": "training", "network": 2, "networks_most": 4}}
    assert done["result"] == {"start": "nanodet-m-coco", "frames": 5, "boxes": 5, "networks": 4, "seconds": 600.0,
                              "date": "2026-12-07"}
    page = client.get(PAGE).text
    assert name in adapt_state(page) and 'id="adapt"' in page  # done: the camera may be adapted again
    assert worker(api, store, models_dir, fake_adapt) is None  # nothing waits

    def refusing(spec: AdaptSpec, report: Progress) -> dict[str, Any]:
        raise AdaptError("data has no labelled chicken")

    client.post("/console/labels/adapt", data={"camera": f"{GW}/cam1"})
    failed = worker(api, store, models_dir, refusing)
    assert failed is not None and failed["state"] == "failed"
    assert "data has no labelled chicken" in adapt_state(client.get(PAGE).text)
    with api.db.connect() as conn:
        audited = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'request_adapt'").fetchone()[0]
    assert audited == 2


def test_a_request_a_stopped_worker_left_running_is_failed(site: tuple[ApiWorld, LocalFrameStore],
                                                           tmp_path: Path) -> None:
    api, store = site
    with api.db.connect() as conn:
        conn.execute("INSERT INTO adapt_requests (farm_id, gateway_id, camera_id, state, requested_at, started_at) "
                     "VALUES ('f1', %s, 'cam1', 'running', %s, %s)",
                     (GW, world.NOW - timedelta(hours=3), world.NOW - timedelta(hours=3)))
        conn.commit()
    assert worker(api, store, tmp_path / "models", lambda spec, report: {}) is None
    shown = api.client.get(f"/api/v1/cameras/{GW}/cam1/adapt", headers=api.headers("tech1")).json()
    assert shown["state"] == "failed" and "stopped" in shown["error"]


def test_the_page_says_what_is_ahead_and_when_no_worker_takes_or_finishes_a_request(
        site: tuple[ApiWorld, LocalFrameStore]) -> None:
    api, _store = site
    client = browser_login(api.client, "tech1")
    now = datetime.now(UTC)
    with api.db.connect() as conn:  # another farm's camera asked first; the queue is the deployment's
        for gateway, minutes_ago in ((world.gateway("f2"), 10), (GW, 8)):
            conn.execute("INSERT INTO adapt_requests (farm_id, gateway_id, camera_id, requested_at) "
                         "SELECT farm_id, id, 'cam1', %s FROM gateways WHERE id = %s",
                         (now - timedelta(minutes=minutes_ago), gateway))
        conn.commit()
    page = client.get(PAGE).text
    assert re.search(r"(前面还有|\b)1( 个| ahead)", adapt_state(page)) and 'id="adapt-untaken"' not in page
    with api.db.connect() as conn:
        conn.execute("DELETE FROM adapt_requests WHERE gateway_id <> %s", (GW,))
        conn.commit()
    page = client.get(PAGE).text  # first in line for 8 minutes: no worker is taking requests
    untaken = re.search(r'id="adapt-untaken">([^<]*)<', page)
    assert untaken and "8" in untaken.group(1) and "adapt-worker" in untaken.group(1)
    shown = api.client.get(f"/api/v1/cameras/{GW}/cam1/adapt", headers=api.headers("tech1")).json()
    assert (shown["ahead"], shown["untaken_minutes"]) == (0, 8)

    with api.db.connect() as conn:  # taken 21 minutes ago with a 15-minute budget, and never settled
        conn.execute("UPDATE adapt_requests SET state = 'running', started_at = %s, budget_minutes = 15",
                     (now - timedelta(minutes=21),))
        conn.commit()
    page = client.get(PAGE).text
    assert 'id="adapt-overdue"' in page and 'id="adapt-untaken"' not in page
    with api.db.connect() as conn:  # 19 minutes: late, but not yet taken for stopped
        conn.execute("UPDATE adapt_requests SET started_at = %s", (now - timedelta(minutes=19),))
        conn.commit()
    assert 'id="adapt-overdue"' not in client.get(PAGE).text


def test_only_a_technician_in_scope_asks(site: tuple[ApiWorld, LocalFrameStore]) -> None:
    api, store = site
    label_frames(api, store, range(10, 10 + ADAPT_MIN_FRAMES))
    outside = api.client.post(f"/api/v1/cameras/{GW}/cam1/adapt", headers=api.headers("staff2"))
    farmer = api.client.post(f"/api/v1/cameras/{GW}/cam1/adapt", headers=api.headers("farmer1"))
    assert (outside.status_code, farmer.status_code) == (404, 403)
    asked = api.client.post(f"/api/v1/cameras/{GW}/cam1/adapt", headers=api.headers("tech1"))
    assert asked.status_code == 202 and asked.json()["state"] == "queued"


@pytest.mark.slow
@pytest.mark.skipif(not HAS_TRAIN, reason="needs the train extra (torch, ultralytics)")
def test_the_worker_adapts_and_registers_the_model_for_that_camera(site: tuple[ApiWorld, LocalFrameStore],
                                                                   tmp_path: Path) -> None:
    from models.adapt import adapt

    api, store = site
    label_frames(api, store, range(10, 10 + ADAPT_MIN_FRAMES))
    asked = api.client.post(f"/api/v1/cameras/{GW}/cam1/adapt", headers=api.headers("tech1")).json()
    models_dir = tmp_path / "models"
    done = worker(api, store, models_dir,  # the real adaptation, kept short: what is tested is the chain
                  lambda spec, report: adapt(replace(spec, start="coco", imgsz=160, steps=20, mirrored=False),
                                             report=report))
    assert done is not None and done["state"] == "done", done
    name = model_name(GW, "cam1", asked["id"])
    assert done["model"] == name and done["result"]["frames"] == ADAPT_MIN_FRAMES
    with api.db.connect() as conn:  # the last stage the adaptation reported
        progress = conn.execute("SELECT progress FROM adapt_requests WHERE id = %s", (asked["id"],)).fetchone()[0]
    assert progress == {"stage": "exporting"}
    catalog = ModelCatalog(models_dir=models_dir)
    assert catalog.pick("f1", f"{GW}/cam1") == name  # the detection worker's choice for the camera
    assert catalog.pick("f1", f"{GW}/cam2") == catalog.default  # and only for it
    catalog.entry(name)  # its file is there and matches its sha256


@pytest.mark.skipif(not HAS_TRAIN, reason="needs the train extra (torch, ultralytics)")
def test_the_worker_command_settles_what_waits_and_says_so(site: tuple[ApiWorld, LocalFrameStore],
                                                           tmp_path: Path) -> None:
    """The command as deployed (its own process: it lowers its own priority): nothing waits here,
    so it settles none and exits; a database that does not answer is one sentence, no traceback."""
    api, _store = site
    env = {**os.environ, **api.db.env(), "FUHUIYANG_FRAMES_DIR": str(tmp_path / "frames"),
           "FUHUIYANG_MODELS_DIR": str(tmp_path / "models"), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "fuhuiyang", "models", "adapt-worker", "--once", "--json"]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert json.loads(run.stdout.strip().splitlines()[-1]) == {"settled": 0}

    down = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**env, "FUHUIYANG_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"})
    assert down.returncode != 0 and "Traceback" not in down.stderr and down.stderr.strip()
