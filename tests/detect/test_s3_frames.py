"""Frames kept in S3 (moto's server) end to end: a real Mosquitto, an ingest worker storing the
frames, a detection worker judging them, and the farmer's page showing the dead bird's photo,
all reading and writing the one store their composition roots opened from the same settings."""

from __future__ import annotations

import hashlib
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest

import protocol
from cloud.detect.metrics import DetectMetrics
from cloud.detect.stillness import StillnessConfig
from cloud.detect.worker import DetectOptions
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.worker import IngestOptions
from cloud.settings import CloudSettings
from firmware_sim.camera.render import encode_jpeg
from firmware_sim.camera.scene import HouseScene
from fuhuiyang.processes import detect as detect_process
from fuhuiyang.processes import ingest as ingest_process
from protocol.topics import Kind, topic_for
from tests.api import world
from tests.api.conftest import make_world
from tests.cloud.conftest import Publisher, count, serving, wait_until
from tests.detect.test_dead_bird_broker import ErringDetector, bird_in_full_view
from tests.support.databases import TestDatabase
from tests.support.moto_s3 import BUCKET, moto_s3
from tests.web.conftest import browser_login

FRAME_MIN, SPAN_MIN, MIN_MS = 5, 30, 60_000
GATEWAY, CAMERA = world.gateway("f1"), "cam1"  # the world's farm f1: farmer1 sees it
T0 = int((world.NOW - timedelta(hours=20)).timestamp() * 1000)  # daytime in the flock's life
PREFIX = f"s3://{BUCKET}/farm-frames/"


def shoot(pub: Publisher, detector: ErringDetector) -> dict[int, bytes]:
    """20 minutes of the flock as usual, then a bird in view dies and lies still for an hour."""
    scene = HouseScene(7, n_birds=14, size=(1280, 720), maturity=0.8)
    sent: dict[int, bytes] = {}
    ts = T0
    for seq in range(4 + (SPAN_MIN + 30) // FRAME_MIN):
        if seq == 4:
            scene.kill(bird_in_full_view(scene.frame(ts)))
        frame = scene.frame(ts, lights_on=True)
        jpeg = encode_jpeg(frame.rgb, frame.jpeg_quality)
        detector.learn(jpeg, frame, scene)
        h, w = frame.rgb.shape[:2]
        meta = protocol.FrameMeta(gateway_id=GATEWAY, seq=seq, ts=ts, camera=CAMERA, width=w, height=h,
                                  size=len(jpeg), sha256=hashlib.sha256(jpeg).hexdigest())
        pub.publish(topic_for(GATEWAY, Kind.FRAME), protocol.encode_frame(meta, jpeg)).wait_for_publish(10)
        sent[seq] = jpeg
        ts += FRAME_MIN * MIN_MS
        scene.advance(FRAME_MIN * 60)
    return sent


def test_frames_in_s3_are_judged_and_shown_to_the_farmer(db: TestDatabase, mosquitto_factory, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    broker = mosquitto_factory()
    local_dir = tmp_path / "frames"
    with moto_s3(monkeypatch) as endpoint, contextmanager(make_world)(
            db, with_web=True, frames_dir=local_dir, frames_s3_url=PREFIX.rstrip("/"),
            frames_s3_endpoint=endpoint) as app:
        settings = CloudSettings(database_url=db.url, database_schema=db.schema, mqtt_url=broker.url,
                                 frames_dir=local_dir, frames_s3_url=PREFIX.rstrip("/"), frames_s3_endpoint=endpoint)
        detector = ErringDetector()
        ingest = ingest_process.build(settings, IngestOptions(client_id=f"ingest-{uuid.uuid4().hex[:8]}"),
                                      IngestMetrics())
        detect = detect_process.build(
            settings, DetectOptions(client_id=f"detect-{uuid.uuid4().hex[:8]}",
                                    stillness=StillnessConfig(still_span_s=SPAN_MIN * 60)),
            DetectMetrics(), detector)
        pub = Publisher("127.0.0.1", broker.port)
        try:
            # The test world has frames of its own (one per gateway, for the labelling pages).
            frames_before = count(db, "SELECT count(*) FROM frames")
            judged_before = count(db, "SELECT count(*) FROM detection_frames")
            with serving(*ingest, "ingest"), serving(*detect, "detection worker"):
                sent = shoot(pub, detector)
                wait_until(lambda: count(db, "SELECT count(*) FROM frames") == frames_before + len(sent)
                           and count(db, "SELECT count(*) FROM detection_frames") == judged_before + len(sent),
                           timeout=120, what="every frame stored and judged")
        finally:
            pub.close()
            ingest[1].close()

        with db.connect() as conn:
            stored = dict(conn.execute("SELECT seq, path FROM frames WHERE gateway_id = %s", (GATEWAY,)).fetchall())
            deaths = conn.execute("SELECT id, evidence FROM mortality_records WHERE source = 'detector' "
                                  "AND evidence ->> 'model' = %s", (detector.name,)).fetchall()  # not the world's
        # Ingest put every frame in the bucket, none on the local disk.
        assert all(path.startswith(PREFIX) for path in stored.values()), stored
        assert not local_dir.exists() or not any(local_dir.rglob("*.jpg"))
        # The detector judged them and kept its evidence in the same store: the full frame is the
        # very object ingest stored.
        assert len(deaths) == 1, deaths
        record, evidence = deaths[0]
        assert evidence["frame"] == stored[evidence["frame_seq"]]
        assert evidence["crop"].startswith(PREFIX)
        keys = {o["Key"] for o in boto3.client("s3", endpoint_url=endpoint).list_objects_v2(Bucket=BUCKET)["Contents"]}
        assert evidence["crop"].removeprefix(f"s3://{BUCKET}/") in keys

        # The farmer's page offers the photo, and the photo route serves the bytes from S3.
        client = browser_login(app.client, "farmer1")
        assert f'src="/photos/{record}"' in client.get("/farm?farm=f1").text
        frame_photo = client.get(f"/photos/{record}", params={"part": "frame"})
        assert frame_photo.status_code == 200 and frame_photo.headers["content-type"] == "image/jpeg"
        assert frame_photo.content == sent[evidence["frame_seq"]]
        crop = client.get(f"/photos/{record}")
        assert crop.status_code == 200 and crop.content[:2] == b"\xff\xd8"
        assert browser_login(app.client, "farmer3").get(f"/photos/{record}").status_code == 404  # not theirs
