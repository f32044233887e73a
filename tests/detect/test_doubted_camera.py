"""A camera whose dead-bird reports keep being rejected stops texting, on the real database.

The alert worker reads the detector's mortality records, asks `cloud/camera_trust.py` which
cameras are doubted, and the farmer's SMS budget decides: a note waits for the evening digest, a
warning texts at once. Another model serving the camera (a technician adapted one) starts afresh.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from psycopg.types.json import Jsonb

from cloud import camera_trust
from cloud.alerts.model import DEAD_BIRD
from cloud.notify.settings import PrintProvider, SmsSettings
from fuhuiyang.processes.alerts import build_worker
from tests.support.databases import TestDatabase

NOW = datetime(2026, 6, 21, 2, 0, tzinfo=UTC)  # 10:00 in China: an SMS may go at once


def judged_frame(conn: psycopg.Connection, at: datetime, model: str, seq: int) -> None:
    conn.execute("INSERT INTO detection_frames (ts, gateway_id, camera_id, frame_seq, house_id, lit, detections, "
                 "model) VALUES (%s, 'gw1', 'cam1', %s, 'h1', true, 0, %s)", (at, seq, model))


def report(conn: psycopg.Connection, at: datetime, model: str, confirmed: bool | None, x: float) -> None:
    conn.execute("INSERT INTO mortality_records (flock_id, house_id, farm_id, ts, count, source, evidence, confirmed) "
                 "VALUES ('fl1', 'h1', 'f1', %s, 1, 'detector', %s, %s)",
                 (at, Jsonb({"gateway_id": "gw1", "camera": "cam1", "box": [x, 10, x + 40, 50], "model": model,
                             "crop": f"crops/{x}.jpg"}), confirmed))


def farmer_sms(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return conn.execute("SELECT severity, action FROM sms_budget WHERE role = 'farmer' AND kind = %s ORDER BY at",
                        (DEAD_BIRD,)).fetchall()


def test_rejected_reports_make_the_next_a_note_until_another_model_serves(farm: TestDatabase) -> None:
    with farm.connect() as conn:
        owner = conn.execute("INSERT INTO users (username, password_hash, role, phone) "
                             "VALUES ('zhang', 'x', 'farmer', '+8613900000009') RETURNING id").fetchone()
        assert owner is not None
        conn.execute("UPDATE farms SET owner_user_id = %s WHERE id = 'f1'", owner)
        judged_frame(conn, NOW - timedelta(hours=1), "v6", 1)
        report(conn, NOW - timedelta(days=2), "v6", False, 100)  # the farmer said: no dead bird there
        report(conn, NOW - timedelta(days=1), "v6", False, 300)
        report(conn, NOW - timedelta(days=9), "v6", True, 500)  # confirmed, but before the week counted
        report(conn, NOW - timedelta(minutes=10), "v6", None, 700)
        conn.commit()
        assert camera_trust.doubted_cameras(conn, NOW, [("gw1", "cam1")]) == {("gw1", "cam1")}

        worker = build_worker(conn, PrintProvider(), SmsSettings())
        for minutes in (0, 31):
            worker.cycle(NOW + timedelta(minutes=minutes))
        severity, last = conn.execute("SELECT severity, evidence->'last' FROM alerts WHERE type = %s", (DEAD_BIRD,)).fetchone()
        assert severity == "info" and last["rule"] == "doubted_camera"
        assert farmer_sms(conn) == [("info", "held")]  # a line in the evening digest, no SMS now

        # A technician adapts a model for the camera: its reports start with a clean slate.
        later = NOW + timedelta(hours=1)
        judged_frame(conn, later - timedelta(minutes=20), "cam1-adapted", 2)
        report(conn, later - timedelta(minutes=5), "cam1-adapted", None, 900)
        conn.commit()
        assert camera_trust.doubted_cameras(conn, later, [("gw1", "cam1")]) == frozenset()
        for minutes in (0, 31):
            worker.cycle(later + timedelta(minutes=minutes))
        severity, last = conn.execute("SELECT severity, evidence->'last' FROM alerts WHERE type = %s", (DEAD_BIRD,)).fetchone()
        assert severity == "warning" and last["rule"] == "still_carcass"
        # Doubt is judged now, for the camera: its earlier sighting is trusted again too.
        assert last["evidence"]["crop"] == "crops/900.jpg" and "doubted" not in last["evidence"]
        assert last["value"] == 2
        assert farmer_sms(conn) == [("info", "held"), ("warning", "sent")]
