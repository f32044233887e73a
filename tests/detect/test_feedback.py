"""Verdicts on dead-bird alerts become a YOLO dataset (real PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from click.testing import CliRunner
from psycopg.types.json import Jsonb

from cloud.frames_store import LocalFrameStore
from models.cli import models
from models.feedback import FeedbackFrame, Verdict, yolo_rows
from tests.support.databases import TestDatabase


def test_verdict_replaces_the_detection_of_the_same_bird() -> None:
    frame = FeedbackFrame(
        "x.jpg",
        [Verdict((10, 10, 30, 30), confirmed=False)],
        [("dead", (11, 11, 31, 31)), ("chicken", (50, 50, 70, 60)), ("feeder", (0, 0, 5, 5))],
    )
    rows = yolo_rows(frame, 100, 100)
    assert rows == ["0 0.600000 0.550000 0.200000 0.100000"]  # the rejected box is background


def test_export_feedback_writes_confirmed_and_rejected_frames(
    db: TestDatabase, tmp_path: Path
) -> None:
    store = LocalFrameStore(tmp_path / "frames")
    img = np.full((120, 160, 3), 90, np.uint8)
    ok, buf = cv2.imencode(".jpg", img)
    assert ok
    stored = store.put(buf.tobytes())
    with db.connect() as conn:
        for seq, box, confirmed in (
            (7, [10, 10, 40, 30], True),
            (7, [80, 60, 120, 100], False),
            (8, [0, 0, 10, 10], None),
        ):
            ev = {
                "gateway_id": "gw1",
                "camera": "cam1",
                "frame_seq": seq,
                "box": box,
                "frame": stored.path,
            }
            conn.execute(
                "INSERT INTO mortality_records (house_id, farm_id, ts, count, source, evidence, confirmed) "
                "VALUES ('h1', 'f1', now(), 1, 'detector', %s, %s)",
                (Jsonb(ev), confirmed),
            )
        conn.execute(
            "INSERT INTO detections (ts, gateway_id, frame_seq, camera_id, class, score, x1, y1, x2, y2, model) "
            "VALUES (now(), 'gw1', 7, 'cam1', 'chicken', 0.9, 100, 10, 140, 40, 'm'), "
            "(now(), 'gw1', 7, 'cam1', 'dead', 0.8, 12, 11, 41, 31, 'm')"
        )
        conn.commit()
    env = {**db.env(), "FUHUIYANG_FRAMES_DIR": str(tmp_path / "frames")}
    out = tmp_path / "fb"
    result = CliRunner().invoke(models, ["export-feedback", "--out", str(out), "--json"], env=env)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["images"] == 1 and summary["dead"] == 1 and summary["chicken"] == 1
    labels = (out / "labels" / f"{stored.sha256}.txt").read_text().splitlines()
    assert sorted(r.split()[0] for r in labels) == ["0", "1"]
    assert (out / "images" / f"{stored.sha256}.jpg").read_bytes() == buf.tobytes()
    assert "dead" in (out / "data.yaml").read_text()
