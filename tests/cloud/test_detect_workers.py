"""Two `fuhuiyang cloud detect` processes on one shared subscription; one is SIGKILLed mid-frame."""

from __future__ import annotations

import hashlib
import os
import signal
from collections.abc import Callable

import pytest

import protocol
from cloud.detect.registry import REGISTRY
from firmware_sim.camera.render import encode_jpeg
from firmware_sim.camera.scene import random_sample
from protocol.topics import Kind, topic_for
from tests.cloud.conftest import CloudWorker, Publisher, count, wait_until
from tests.support.databases import TestDatabase

pytestmark = pytest.mark.skipif(not REGISTRY.exists(), reason="no model registered yet")

CAMERAS = 4
T0 = 1_782_000_000_000
JPEGS = [encode_jpeg(random_sample(500 + i, (320, 240))[0], 80) for i in range(8)]


def frame_message(seq: int) -> tuple[str, bytes]:
    jpeg = JPEGS[seq % len(JPEGS)]
    meta = protocol.FrameMeta(gateway_id="gw1", seq=seq, ts=T0 + seq * 60_000, camera=f"cam{seq % CAMERAS}",
                              width=320, height=240, size=len(jpeg), sha256=hashlib.sha256(jpeg).hexdigest())
    return topic_for("gw1", Kind.FRAME), protocol.encode_frame(meta, jpeg)


@pytest.fixture
def workers(cloud_workers) -> Callable[[str], CloudWorker]:  # type: ignore[no-untyped-def]
    return lambda client_id: cloud_workers("detect", client_id, "--group", "detect-test", "--threads", "1",
                                           timeout=90)


def _waiting_on_lock(db: TestDatabase, client_id: str) -> bool:
    return count(db, "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
                     "AND wait_event_type = 'Lock'", client_id) > 0


def _judged(db: TestDatabase) -> int:
    return count(db, "SELECT count(*) FROM detection_frames")


def test_two_detection_workers_split_frames_and_a_sigkill_loses_nothing(db, broker, workers) -> None:  # type: ignore[no-untyped-def]
    a, b = workers("detect-test-a"), workers("detect-test-b")
    pub = Publisher("127.0.0.1", broker.port)

    # Phase 1: both workers take part.
    first = 40
    for seq in range(first):
        pub.publish(*frame_message(seq))
    wait_until(lambda: _judged(db) == first, timeout=120, what="phase 1 judged")
    wait_until(lambda: a.metric("fhy_detect_frames_total") + b.metric("fhy_detect_frames_total") == first,
               what="phase 1 counted")
    assert a.metric("fhy_detect_frames_total") > 0 and b.metric("fhy_detect_frames_total") > 0

    # Phase 2: hold the table so both workers are stuck inside a frame's transaction, then kill one.
    locker = db.connect()
    locker.execute("LOCK TABLE detection_frames IN SHARE ROW EXCLUSIVE MODE")
    total = 100
    for seq in range(first, total):
        pub.publish(*frame_message(seq))
    wait_until(lambda: _waiting_on_lock(db, "detect-test-a") and _waiting_on_lock(db, "detect-test-b"),
               timeout=120, what="both workers blocked mid-frame")
    os.kill(a.proc.pid, signal.SIGKILL)
    a.proc.wait(30)
    locker.rollback()
    locker.close()

    # The killed worker comes back under its id and judges what it held unacknowledged.
    a2 = workers("detect-test-a")
    wait_until(lambda: _judged(db) >= total, timeout=180, what="every frame judged after the restart")
    pub.close()
    with db.connect() as conn:
        frames, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT (gateway_id, frame_seq)) FROM detection_frames").fetchone()
        duplicated = conn.execute(
            "SELECT count(*) FROM (SELECT frame_seq, class, x1, y1 FROM detections "
            "GROUP BY 1, 2, 3, 4 HAVING count(*) > 1) d").fetchone()[0]
    assert (frames, distinct, duplicated) == (total, total, 0)
    assert a2.metric("fhy_detect_frames_total") > 0
