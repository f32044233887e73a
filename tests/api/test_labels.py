"""Labelling frames into a farm's data set over the API (real PostgreSQL and frame store):
CRUD, scope (technicians of their area only), the YOLO zip, and dead-bird verdicts feeding the set."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from psycopg.types.json import Jsonb

from cloud import frame_look
from cloud.detect import zones
from cloud.frames_store import LocalFrameStore
from cloud.labels.store import spread_pool
from firmware_sim.camera import lens
from tests.api import world
from tests.api.conftest import ApiWorld, make_world
from tests.support.databases import TestDatabase

GW = world.gateway("f1")
W, H = 320, 240


def add_frame(api: ApiWorld, store: LocalFrameStore, seq: int, minutes_ago: int, shade: int = 120,
              detections: list[tuple[str, float, tuple[float, float, float, float]]] = (),  # type: ignore[assignment]
              gateway: str = GW, model: str = "fuhuiyang-dead-v5", image: np.ndarray | None = None,
              look: bool = False) -> str:
    """A real JPEG in the store (a bird on a plain floor unless `image` is given), its `frames` row,
    and what the detector recorded for it (with `look`, how the frame looks, as the worker keeps it)."""
    if image is None:
        image = np.full((H, W, 3), shade, np.uint8)
        cv2.ellipse(image, (160, 120), (40, 22), 0, 0, 360, (235, 235, 240), -1)
    height, width = image.shape[:2]
    stored = store.put(cv2.imencode(".jpg", image)[1].tobytes())
    ts = world.NOW - timedelta(minutes=minutes_ago)
    with api.db.connect() as conn:
        conn.execute("INSERT INTO frames (ts, gateway_id, seq, camera_id, house_id, sha256, path, bytes, width, height, "
                     "trigger) VALUES (%s, %s, %s, 'cam1', %s, %s, %s, %s, %s, %s, 'interval')",
                     (ts, gateway, seq, world.house("f1"), stored.sha256, stored.path, stored.size, width, height))
        signature = frame_look.to_stored(frame_look.signature(image)) if look else None
        conn.execute("INSERT INTO detection_frames (ts, gateway_id, camera_id, frame_seq, house_id, lit, detections, "
                     "model, signature) VALUES (%s, %s, 'cam1', %s, %s, true, %s, %s, %s)",
                     (ts, gateway, seq, world.house("f1"), len(detections), model, signature))
        for cls, score, (x1, y1, x2, y2) in detections:
            conn.execute("INSERT INTO detections (ts, gateway_id, frame_seq, camera_id, class, score, x1, y1, x2, y2, "
                         "model) VALUES (%s, %s, %s, 'cam1', %s, %s, %s, %s, %s, %s, %s)",
                         (ts, gateway, seq, cls, score, x1, y1, x2, y2, model))
        conn.commit()
    return stored.path


@pytest.fixture
def labelled(db: TestDatabase, tmp_path: Path) -> Iterator[tuple[ApiWorld, LocalFrameStore]]:
    store = LocalFrameStore(tmp_path)
    for api in make_world(db, frames=store):
        yield api, store


def _zip_labels(data: bytes) -> dict[str, list[str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        assert "data.yaml" in names
        yaml_text = z.read("data.yaml").decode()
        assert "0: chicken" in yaml_text and "1: dead" in yaml_text
        images = {n[len("images/"):-4] for n in names if n.startswith("images/")}
        labels = {n[len("labels/"):-4]: z.read(n).decode().splitlines() for n in names if n.startswith("labels/")}
        assert images == set(labels)
        return labels


def test_technician_pages_frames_corrects_boxes_and_exports_yolo(labelled: tuple[ApiWorld, LocalFrameStore]) -> None:
    api, store = labelled
    for seq in range(10, 15):
        add_frame(api, store, seq, minutes_ago=25 - seq, detections=[("chicken", 0.8, (100, 90, 140, 130))])
    tech = api.headers("tech1")
    first = api.client.get(f"/api/v1/cameras/{GW}/cam1/frames?limit=2", headers=tech).json()
    assert first["total"] == 6  # the world's own frame and five more
    assert [f["seq"] for f in first["items"]] == [14, 13]
    assert first["items"][0]["model"] == "fuhuiyang-dead-v5" and first["items"][0]["labelled"] is None
    second = api.client.get(f"/api/v1/cameras/{GW}/cam1/frames?limit=2&offset=2", headers=tech).json()
    assert [f["seq"] for f in second["items"]] == [12, 11]

    shown = api.client.get(f"/api/v1/frames/{GW}/12", headers=tech).json()
    assert shown["detector"] == [{"cls": "chicken", "box": [100.0, 90.0, 140.0, 130.0], "score": 0.8}]
    assert shown["labels"] is None and (shown["width"], shown["height"]) == (W, H)
    image = api.client.get(f"/api/v1/frames/{GW}/12/image", headers=tech)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"

    boxes = [{"cls": "chicken", "box": [104, 92, 144, 132]}, {"cls": "dead", "box": [200, 150, 260, 190]}]
    saved = api.client.put(f"/api/v1/frames/{GW}/12/labels", headers=tech, json={"boxes": boxes})
    assert saved.status_code == 200, saved.text
    assert saved.json()["labels"] == boxes and saved.json()["labelled"] == "technician"
    # Corners in any order are one box; a class outside the set and a short box are refused.
    swapped = api.client.put(f"/api/v1/frames/{GW}/13/labels", headers=tech,
                             json={"boxes": [{"cls": "dead", "box": [60, 50, 20, 10]}]})
    assert swapped.json()["labels"] == [{"cls": "dead", "box": [20.0, 10.0, 60.0, 50.0]}]
    for bad in ({"boxes": [{"cls": "egg", "box": [1, 2, 3, 4]}]}, {"boxes": [{"cls": "dead", "box": [1, 2, 3]}]},
                {"boxes": [{"cls": "dead", "box": [1, 2, 3, "x"]}]}, {}):
        r = api.client.put(f"/api/v1/frames/{GW}/11/labels", headers=tech, json=bad)
        assert r.status_code == 422 and r.json()["error"]["code"] == "invalid", (bad, r.text)
    # A frame with no birds at all is background and stays in the set.
    assert api.client.put(f"/api/v1/frames/{GW}/11/labels", headers=tech, json={"boxes": []}).status_code == 200

    only_labelled = api.client.get(f"/api/v1/cameras/{GW}/cam1/frames?labelled=true", headers=tech).json()
    assert {f["seq"] for f in only_labelled["items"]} == {11, 12, 13}
    summary = api.client.get("/api/v1/farms/f1/label-set", headers=tech).json()
    assert summary == [{"gateway_id": GW, "camera_id": "cam1", "frames": 3, "reviewed": 3, "chicken": 1, "dead": 2}]

    r = api.client.get("/api/v1/farms/f1/label-set.zip", headers=tech)
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    labels = _zip_labels(r.content)
    assert len(labels) == 3 and r.headers["x-label-images"] == "3"
    by_seq = {stem.split("_")[2]: rows for stem, rows in labels.items()}
    assert by_seq["11"] == []
    assert by_seq["12"] == ["0 0.387500 0.466667 0.125000 0.166667", "1 0.718750 0.708333 0.187500 0.166667"]
    assert by_seq["13"] == ["1 0.125000 0.125000 0.125000 0.166667"]
    one_camera = api.client.get(f"/api/v1/farms/f1/label-set.zip?camera={GW}/cam1", headers=tech)
    assert len(_zip_labels(one_camera.content)) == 3

    assert api.client.delete(f"/api/v1/frames/{GW}/13/labels", headers=tech).status_code == 204
    assert api.client.delete(f"/api/v1/frames/{GW}/13/labels", headers=tech).status_code == 404
    assert api.client.get(f"/api/v1/frames/{GW}/13", headers=tech).json()["labels"] is None
    with api.db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM label_frames").fetchone() == (2,)
        assert conn.execute("SELECT count(*) FROM audit_log WHERE entity = 'frame'").fetchone() == (4,)  # three saves, one removal


def test_labelling_is_for_technicians_of_the_area(labelled: tuple[ApiWorld, LocalFrameStore]) -> None:
    api, store = labelled
    add_frame(api, store, 20, minutes_ago=5)
    add_frame(api, store, 21, minutes_ago=5, gateway=world.gateway("f3"))
    body = {"boxes": [{"cls": "chicken", "box": [1, 1, 20, 20]}]}
    f3 = world.gateway("f3")
    # tech1's area is county c1 (f1, f2, f4): f3's camera, frames and set are not found.
    tech = api.headers("tech1")
    for method, url in (("GET", f"/api/v1/cameras/{f3}/cam1/frames"), ("GET", f"/api/v1/frames/{f3}/21"),
                        ("GET", f"/api/v1/cameras/{f3}/cam1/frames/suggested"),
                        ("GET", f"/api/v1/frames/{f3}/21/image"), ("PUT", f"/api/v1/frames/{f3}/21/labels"),
                        ("DELETE", f"/api/v1/frames/{f3}/21/labels"), ("GET", "/api/v1/farms/f3/label-set"),
                        ("GET", "/api/v1/farms/f3/label-set.zip"), ("GET", "/api/v1/cameras/health?farm_id=f3"),
                        ("GET", f"/api/v1/farms/f1/label-set.zip?camera={f3}/cam1")):
        r = api.client.request(method, url, headers=tech, json=body if method == "PUT" else None)
        assert r.status_code == 404, (method, url, r.status_code)
    # The farmer of f1 and programme staff may not label, even what they can see.
    for user in ("farmer1", "staff2"):
        own = "f1" if user == "farmer1" else "f3"
        gw = world.gateway(own)
        for method, url in (("GET", f"/api/v1/cameras/{gw}/cam1/frames"), ("PUT", f"/api/v1/frames/{gw}/1/labels"),
                            ("GET", f"/api/v1/cameras/{gw}/cam1/frames/suggested"),
                            ("GET", f"/api/v1/farms/{own}/label-set.zip"), ("GET", "/api/v1/cameras/health")):
            r = api.client.request(method, url, headers=api.headers(user), json=body if method == "PUT" else None)
            assert r.status_code == 403, (user, method, url, r.status_code)
    # The admin may label anywhere; nobody else's attempts left anything behind.
    with api.db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM label_frames").fetchone() == (0,)
    assert api.client.put(f"/api/v1/frames/{f3}/21/labels", headers=api.headers("admin"), json=body).status_code == 200
    health = api.client.get("/api/v1/cameras/health", headers=tech).json()
    assert {c["farm_id"] for c in health} == {"f1", "f2", "f4"}


def test_suggestions_come_from_the_looks_kept_at_judging_without_reading_frames(
        labelled: tuple[ApiWorld, LocalFrameStore]) -> None:
    """Frames the worker judged with their look kept: the store's images can be gone (on S3, not
    fetched) and the suggestions still span morning, IR night and sun, the labelled one's kind last."""
    api, store = labelled
    paths = [add_frame(api, store, seq, minutes_ago=60 - (seq - 30), look=True) for seq in range(30, 36)]
    paths += [add_frame(api, store, 50, minutes_ago=7 * 1440, shade=35, look=True),
              add_frame(api, store, 51, minutes_ago=6 * 1440, shade=35, look=True),
              add_frame(api, store, 60, minutes_ago=8 * 1440, shade=215, look=True)]
    tech = api.headers("tech1")
    body = {"boxes": [{"cls": "chicken", "box": [120, 98, 200, 142]}]}
    assert api.client.put(f"/api/v1/frames/{GW}/51/labels", headers=tech, json=body).status_code == 200
    for path in set(paths):
        (store.root / path).unlink()
    got = api.client.get(f"/api/v1/cameras/{GW}/cam1/frames/suggested?count=3", headers=tech).json()
    kinds = {50: "ir", 60: "sun"}
    assert [kinds.get(f["seq"], "morning") for f in got["items"]][:2] == ["sun", "morning"]
    assert [kinds.get(f["seq"], "morning") for f in got["items"]][2] in ("morning", "ir")
    assert got["unreadable"] == 1  # only the world's own frame: no image, no kept look


def test_suggested_frames_cover_the_cameras_days_not_its_last_hour(labelled: tuple[ApiWorld, LocalFrameStore]
                                                                   ) -> None:
    """Twelve frames of this morning under the same light, two IR nights and two sunny
    afternoons a week back: the first suggestions are one of each, the labelled one's kind
    comes last, and a frame the store lost is counted, not fatal."""
    api, store = labelled
    for seq in range(30, 42):
        add_frame(api, store, seq, minutes_ago=60 - (seq - 30))
    for seq, days in ((50, 7), (51, 6)):
        add_frame(api, store, seq, minutes_ago=days * 1440, shade=35)  # IR night: dark and grey
    for seq, days in ((60, 8), (61, 9)):
        add_frame(api, store, seq, minutes_ago=days * 1440, shade=215)  # sunny afternoon
    tech = api.headers("tech1")
    url = f"/api/v1/cameras/{GW}/cam1/frames/suggested"
    newest = [f["seq"] for f in api.client.get(f"/api/v1/cameras/{GW}/cam1/frames?limit=4", headers=tech).json()["items"]]
    assert newest == [1, 41, 40, 39]  # what a technician labelled before: one hour of one morning

    first = api.client.get(f"{url}?count=3", headers=tech).json()
    kinds = {50: "ir", 51: "ir", 60: "sun", 61: "sun"}
    assert sorted(kinds.get(f["seq"], "morning") for f in first["items"]) == ["ir", "morning", "sun"]
    assert first["unreadable"] == 1  # the world's own frame has no image in this store

    night = next(f["seq"] for f in first["items"] if kinds.get(f["seq"]) == "ir")
    body = {"boxes": [{"cls": "chicken", "box": [120, 98, 200, 142]}]}
    assert api.client.put(f"/api/v1/frames/{GW}/{night}/labels", headers=tech, json=body).status_code == 200
    after = api.client.get(f"{url}?count=3", headers=tech).json()["items"]
    assert night not in [f["seq"] for f in after]  # labelled frames are never suggested
    assert sorted(kinds.get(f["seq"], "morning") for f in after[:2]) == ["morning", "sun"]
    assert api.client.get(f"{url}?count=0", headers=tech).status_code == 422

    # Past the pool's size the candidates are taken evenly over the camera's whole stored time.
    with api.db.connect() as conn:
        candidates, done = spread_pool(conn, GW, "cam1", 5)
    assert [f["path"] for f in done] == [store_path_of(api, night)]
    seqs = [f["seq"] for f in candidates]  # 16 unlabelled, oldest first: every 4th of them
    assert len(seqs) == 4 and seqs[0] == 61 and night not in seqs
    assert max(f["ts"] for f in candidates) - min(f["ts"] for f in candidates) > timedelta(days=8)


def store_path_of(api: ApiWorld, seq: int) -> str:
    with api.db.connect() as conn:
        return str(conn.execute("SELECT path FROM frames WHERE gateway_id = %s AND seq = %s", (GW, seq)).fetchone()[0])


def _record(api: ApiWorld, path: str, seq: int, box: list[float]) -> int:
    with api.db.connect() as conn:
        row = conn.execute(
            "INSERT INTO mortality_records (flock_id, house_id, farm_id, ts, count, source, evidence) "
            "VALUES (%s, %s, 'f1', %s, 1, 'detector', %s) RETURNING id",
            (world.flock("f1"), world.house("f1"), world.NOW, Jsonb({
                "gateway_id": GW, "camera": "cam1", "frame_seq": seq, "box": box, "frame": path,
                "crop": path, "score": 0.9}))).fetchone()
        conn.commit()
    assert row is not None
    return int(row[0])


def test_confirmed_and_rejected_dead_birds_feed_the_set(labelled: tuple[ApiWorld, LocalFrameStore]) -> None:
    api, store = labelled
    carcass, feeder, bird = (200.0, 150.0, 260.0, 190.0), (20.0, 20.0, 70.0, 60.0), (100.0, 90.0, 140.0, 130.0)
    path = add_frame(api, store, 30, minutes_ago=20, detections=[
        ("dead", 0.7, carcass), ("chicken", 0.9, bird)])
    path2 = add_frame(api, store, 31, minutes_ago=10, shade=90, detections=[
        ("dead", 0.6, feeder), ("chicken", 0.4, (22.0, 21.0, 69.0, 61.0)), ("chicken", 0.9, bird)])
    confirmed, rejected = _record(api, path, 30, list(carcass)), _record(api, path2, 31, list(feeder))
    farmer = api.headers("farmer1")  # the farmer's verdicts count, as the technician's do
    assert api.client.post(f"/api/v1/mortality/{confirmed}/decision", headers=farmer,
                           json={"confirmed": True}).status_code == 200
    assert api.client.post(f"/api/v1/mortality/{rejected}/decision", headers=farmer,
                           json={"confirmed": False}).status_code == 200
    tech = api.headers("tech1")
    first = api.client.get(f"/api/v1/frames/{GW}/30", headers=tech).json()
    assert first["labelled"] == "alert"
    assert first["labels"] == [{"cls": "chicken", "box": list(bird)}, {"cls": "dead", "box": list(carcass)}]
    # The rejected box (a feeder) is background: neither `dead` nor `chicken` is left on it.
    second = api.client.get(f"/api/v1/frames/{GW}/31", headers=tech).json()
    assert second["labels"] == [{"cls": "chicken", "box": list(bird)}]
    labels = _zip_labels(api.client.get("/api/v1/farms/f1/label-set.zip", headers=tech).content)
    by_seq = {stem.split("_")[2]: rows for stem, rows in labels.items()}
    assert by_seq["30"] == ["0 0.375000 0.458333 0.125000 0.166667", "1 0.718750 0.708333 0.187500 0.166667"]
    assert by_seq["31"] == ["0 0.375000 0.458333 0.125000 0.166667"]
    # A technician's own labels stay theirs when the verdict changes later; only the judged bird moves.
    api.client.put(f"/api/v1/frames/{GW}/30/labels", headers=tech, json={"boxes": [
        {"cls": "dead", "box": [201, 151, 259, 191]}, {"cls": "chicken", "box": [10, 200, 50, 230]}]})
    api.client.post(f"/api/v1/mortality/{confirmed}/decision", headers=tech, json={"confirmed": False})
    after = api.client.get(f"/api/v1/frames/{GW}/30", headers=tech).json()
    assert after["labelled"] == "technician"
    assert after["labels"] == [{"cls": "chicken", "box": [10.0, 200.0, 50.0, 230.0]}]


def test_a_technician_lists_and_lifts_a_cameras_quiet_spots(labelled: tuple[ApiWorld, LocalFrameStore]) -> None:
    """Rejected reports of the last 30 days keep their spots quiet and are listed; a technician
    lifts one (audited, then gone from the list); older, confirmed and other cameras' are not listed."""
    api, store = labelled
    path = add_frame(api, store, 60, minutes_ago=30)
    now = datetime.now(UTC)
    ids = {}
    with api.db.connect() as conn:
        for name, ts, confirmed, camera in (("feeder", now - timedelta(hours=2), False, "cam1"),
                                            ("smudge", now - timedelta(days=10), False, "cam1"),
                                            ("old", now - timedelta(days=31), False, "cam1"),
                                            ("carcass", now - timedelta(hours=1), True, "cam1"),
                                            ("elsewhere", now - timedelta(hours=1), False, "cam2")):
            ids[name] = conn.execute(
                "INSERT INTO mortality_records (flock_id, house_id, farm_id, ts, count, source, evidence, confirmed) "
                "VALUES (%s, %s, 'f1', %s, 1, 'detector', %s, %s) RETURNING id",
                (world.flock("f1"), world.house("f1"), ts, Jsonb({
                    "gateway_id": GW, "camera": camera, "frame_seq": 60, "box": [10, 20, 60, 50],
                    "frame": path, "crop": path}), confirmed)).fetchone()[0]
        conn.commit()
        conn.execute("INSERT INTO mortality_records (flock_id, house_id, farm_id, ts, count, source, evidence, "
                     "confirmed) VALUES (%s, %s, 'f1', %s, 1, 'detector', %s, false)",  # a hand-edited row: no spot
                     (world.flock("f1"), world.house("f1"), now - timedelta(hours=3),
                      Jsonb({"gateway_id": GW, "camera": "cam1", "box": [10, "x", 60, 50]})))
        conn.commit()
    tech, url = api.headers("tech1"), f"/api/v1/cameras/{GW}/cam1/quiet-spots"
    spots = api.client.get(url, headers=tech).json()
    assert [q["record_id"] for q in spots] == [ids["feeder"], ids["smudge"]]
    assert spots[0]["box"] == [10.0, 20.0, 60.0, 50.0]
    until = datetime.fromisoformat(spots[1]["quiet_until"])
    assert timedelta(days=19) < until - now < timedelta(days=21)

    assert api.client.delete(f"{url}/{ids['smudge']}", headers=tech).status_code == 204
    assert [q["record_id"] for q in api.client.get(url, headers=tech).json()] == [ids["feeder"]]
    for gone in ("smudge", "old", "carcass", "elsewhere"):  # lifted, past its 30 days, confirmed, cam2's
        assert api.client.delete(f"{url}/{ids[gone]}", headers=tech).status_code == 404, gone
    assert api.client.get(f"/api/v1/cameras/{world.gateway('f3')}/cam1/quiet-spots", headers=tech).status_code == 404
    farmer = api.headers("farmer1")
    assert api.client.delete(f"{url}/{ids['feeder']}", headers=farmer).status_code == 403
    with api.db.connect() as conn:
        assert conn.execute("SELECT action, entity_id FROM audit_log WHERE action = 'lift_quiet'").fetchall() == [
            ("lift_quiet", str(ids["smudge"]))]
        lifted = conn.execute("SELECT quiet_lifted_by IS NOT NULL FROM mortality_records WHERE id = %s",
                              (ids["smudge"],)).fetchone()
        assert lifted == (True,)


def test_a_technician_turns_a_quiet_spot_into_a_no_report_zone_and_removes_it(
        labelled: tuple[ApiWorld, LocalFrameStore]) -> None:
    """From a quiet spot (lifted into the zone) or from a box; listed, audited, removable; bad
    boxes, other cameras' spots and other roles are refused."""
    api, store = labelled
    path = add_frame(api, store, 61, minutes_ago=30)
    with api.db.connect() as conn:
        osd = conn.execute(
            "INSERT INTO mortality_records (flock_id, house_id, farm_id, ts, count, source, evidence, confirmed) "
            "VALUES (%s, %s, 'f1', now() - interval '1 hour', 1, 'detector', %s, false) RETURNING id",
            (world.flock("f1"), world.house("f1"), Jsonb({"gateway_id": GW, "camera": "cam1", "frame_seq": 61,
                                                          "box": [10, 20, 50, 40], "frame": path, "crop": path}))
        ).fetchone()[0]
        conn.commit()
    tech, url = api.headers("tech1"), f"/api/v1/cameras/{GW}/cam1/ignore-zones"
    made = api.client.post(url, headers=tech, json={"spot_id": osd})
    assert made.status_code == 201, made.text
    assert made.json()["box"] == [0.0, 10.0, 70.0, 50.0] and made.json()["from_record"] == osd
    assert api.client.get(f"/api/v1/cameras/{GW}/cam1/quiet-spots", headers=tech).json() == []  # the zone took over
    drawn = api.client.post(url, headers=tech, json={"box": [1000, 680, 1280, 720]}).json()
    assert [z["zone_id"] for z in api.client.get(url, headers=tech).json()] == [drawn["zone_id"], made.json()["zone_id"]]

    for body in ({"box": [50, 10, 20, 40]}, {"box": [-5, 0, 10, 10]}, {}, {"box": [0, 0, 9, 9], "spot_id": osd}):
        assert api.client.post(url, headers=tech, json=body).status_code == 422, body
    assert api.client.post(url, headers=tech, json={"spot_id": osd}).status_code == 404  # lifted already
    assert api.client.post(f"/api/v1/cameras/{GW}/cam2/ignore-zones", headers=tech,
                           json={"box": [0, 0, 9, 9]}).status_code == 404  # no such camera
    assert api.client.post(url, headers=api.headers("farmer1"), json={"box": [0, 0, 9, 9]}).status_code == 403
    assert api.client.get(f"/api/v1/cameras/{world.gateway('f3')}/cam1/ignore-zones", headers=tech).status_code == 404

    assert api.client.delete(f"{url}/{drawn['zone_id']}", headers=tech).status_code == 204
    assert api.client.delete(f"{url}/{drawn['zone_id']}", headers=tech).status_code == 404
    assert [z["zone_id"] for z in api.client.get(url, headers=tech).json()] == [made.json()["zone_id"]]
    with api.db.connect() as conn:
        assert conn.execute("SELECT action FROM audit_log WHERE action LIKE '%ignore_zone' ORDER BY id").fetchall() == [
            ("add_ignore_zone",), ("add_ignore_zone",), ("remove_ignore_zone",)]


def osd_frame(k: int) -> np.ndarray:
    """Frame k of a camera that burns its name and clock in, as NVRs do (white, black outline),
    over a floor whose light changes and a bird that moves."""
    rng = np.random.default_rng(k)
    image = np.clip(rng.normal(90 + 12 * k, 10, (360, 640, 3)), 0, 255).astype(np.uint8)
    cv2.ellipse(image, (int(rng.integers(60, 580)), int(rng.integers(80, 300))), (40, 22), 0, 0, 360,
                (235, 235, 240), -1)
    when = datetime(2026, 12, 1, 6, 0, tzinfo=UTC) + timedelta(hours=9 * k, minutes=7 * k, seconds=13 * k)
    lens.osd(image, np.random.default_rng([7, 2]), when)  # the same camera: the same name, the same corners
    return image


def test_text_burned_into_a_cameras_frames_is_proposed_until_it_is_a_zone(
        labelled: tuple[ApiWorld, LocalFrameStore]) -> None:
    api, store = labelled
    text = lens.osd(np.zeros((360, 640, 3), np.uint8), np.random.default_rng([7, 2]))  # where it lies
    for k in range(8):
        add_frame(api, store, 100 + k, minutes_ago=600 - 60 * k, image=osd_frame(k))
    tech, url = api.headers("tech1"), f"/api/v1/cameras/{GW}/cam1/ignore-zones"
    proposed = api.client.get(f"{url}/proposed", headers=tech)
    assert proposed.status_code == 200, proposed.text
    boxes = np.array([p["box"] for p in proposed.json()])
    assert len(boxes) == 2
    name = np.array([text[1]], np.float64)  # the clock's width changes with its digits; the name's does not
    assert zones.inside_share(name, boxes)[0] >= 0.9

    assert api.client.post(url, headers=tech, json={"box": proposed.json()[0]["box"]}).status_code == 201
    assert [p["box"] for p in api.client.get(f"{url}/proposed", headers=tech).json()] == [proposed.json()[1]["box"]]
    assert api.client.get(f"{url}/proposed", headers=api.headers("farmer1")).status_code == 403
    assert api.client.get(f"/api/v1/cameras/{world.gateway('f3')}/cam1/ignore-zones/proposed",
                          headers=tech).status_code == 404


def test_text_found_is_kept_and_counted_in_camera_health_until_zoned(
        labelled: tuple[ApiWorld, LocalFrameStore], tmp_path: Path) -> None:
    api, store = labelled
    for k in range(8):
        add_frame(api, store, 100 + k, minutes_ago=600 - 60 * k, image=osd_frame(k))
    tech, url = api.headers("tech1"), f"/api/v1/cameras/{GW}/cam1/ignore-zones"

    def unzoned() -> int:
        health = api.client.get("/api/v1/cameras/health", headers=tech).json()
        return next(c["text_unzoned"] for c in health if (c["gateway_id"], c["camera_id"]) == (GW, "cam1"))

    assert unzoned() == 0  # nothing looked for yet: the console never reads frames for its list
    proposed = api.client.get(f"{url}/proposed", headers=tech).json()
    assert len(proposed) == 2 and unzoned() == 2
    for path in tmp_path.rglob("*.jpg"):  # kept: a second visit reads no frame
        path.unlink()
    assert api.client.get(f"{url}/proposed", headers=tech).json() == proposed
    assert api.client.post(url, headers=tech, json={"box": proposed[0]["box"]}).status_code == 201
    assert unzoned() == 1


def test_the_daily_search_finds_text_on_every_stale_camera(
        labelled: tuple[ApiWorld, LocalFrameStore], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from click.testing import CliRunner

    from fuhuiyang.commands.cloud import cloud

    api, store = labelled
    for k in range(8):
        add_frame(api, store, 100 + k, minutes_ago=600 - 60 * k, image=osd_frame(k))
    other = world.gateway("f2")  # a camera without text
    for k in range(8):
        add_frame(api, store, 200 + k, minutes_ago=600 - 60 * k, gateway=other)
    monkeypatch.setenv("FUHUIYANG_DATABASE_URL", api.db.url)
    monkeypatch.setenv("FUHUIYANG_DATABASE_SCHEMA", api.db.schema)
    monkeypatch.setenv("FUHUIYANG_FRAMES_DIR", str(tmp_path))

    def run(*flags: str) -> dict[str, int]:
        out = CliRunner().invoke(cloud, ["find-text", "--json", *flags])
        assert out.exit_code == 0, out.output
        return dict(json.loads(out.stdout))

    first = run()
    assert first["searched"] == first["cameras"] >= 2  # the world's other cameras have frames too
    assert {k: first[k] for k in ("with_text", "unzoned", "failed")} == {"with_text": 1, "unzoned": 2, "failed": 0}
    with api.db.connect() as conn:
        kept = dict(conn.execute("SELECT gateway_id || '/' || camera_id, jsonb_array_length(boxes) "
                                 "FROM camera_text_zones").fetchall())
    assert len(kept) == first["cameras"] and kept[f"{GW}/cam1"] == 2 and kept[f"{other}/cam1"] == 0
    assert sum(kept.values()) == 2
    assert run()["searched"] == 0  # each kept for a day
    assert run("--max-age-hours", "0")["searched"] == first["cameras"]


def test_cli_exports_the_same_set_as_the_api(labelled: tuple[ApiWorld, LocalFrameStore], tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from models.cli import models

    api, store = labelled
    add_frame(api, store, 40, minutes_ago=3)
    add_frame(api, store, 41, minutes_ago=2, shade=60)
    tech = api.headers("tech1")
    api.client.put(f"/api/v1/frames/{GW}/40/labels", headers=tech,
                   json={"boxes": [{"cls": "chicken", "box": [10, 20, 50, 60]}, {"cls": "dead", "box": [100, 100, 160, 140]}]})
    api.client.put(f"/api/v1/frames/{GW}/41/labels", headers=tech, json={"boxes": []})
    from_api = _zip_labels(api.client.get("/api/v1/farms/f1/label-set.zip", headers=tech).content)
    env = {**api.db.env(), "FUHUIYANG_FRAMES_DIR": str(store.root)}
    out = tmp_path / "set"
    result = CliRunner().invoke(models, ["export-labels", "--farm", "f1", "--camera", f"{GW}/cam1", "--out", str(out),
                                         "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"out": str(out), "images": 2, "skipped": 0, "chicken": 1, "dead": 1}
    from_cli = {p.stem: p.read_text().splitlines() for p in (out / "labels").iterdir()}
    assert from_cli == from_api and {p.stem for p in (out / "images").iterdir()} == set(from_cli)
    from models.evaluate import data_names

    assert data_names(out) == ["chicken", "dead"]

    # With unlabelled frames for pseudo-labels: the camera's frames outside the set, none labelled.
    add_frame(api, store, 42, minutes_ago=1, shade=90)
    pool = tmp_path / "pool"
    result = CliRunner().invoke(models, ["export-labels", "--farm", "f1", "--camera", f"{GW}/cam1", "--out", str(pool),
                                         "--unlabelled", "10", "--json"], env=env)
    assert result.exit_code == 0, result.output
    with api.db.connect() as conn:  # the world's own frame of this camera has no image in the store
        unreadable = conn.execute("SELECT count(*) FROM frames WHERE gateway_id = %s AND camera_id = 'cam1' "
                                  "AND seq NOT IN (40, 41, 42)", (GW,)).fetchone()[0]
    assert json.loads(result.output)["unlabelled"] == 1
    assert json.loads(result.output)["unlabelled_skipped"] == unreadable
    assert [p.name.split("_")[2] for p in (pool / "unlabelled").iterdir()] == ["42"]
    for args, message in ((["--farm", "f9"], "no farm"), (["--farm", "f2"], "no labelled frames"),
                          (["--farm", "f1", "--camera", "cam1"], "<gateway_id>/<camera id>")):
        bad = CliRunner().invoke(models, ["export-labels", *args, "--out", str(tmp_path / "x")], env=env)
        assert bad.exit_code != 0 and message in bad.output and "Traceback" not in bad.output
