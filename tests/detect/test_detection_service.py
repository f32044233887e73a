"""The detection loop against a real database: stateless workers, one report per carcass."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import cv2
import numpy as np

import protocol
from cloud import frame_look
from cloud.detect.metrics import DetectMetrics
from cloud.detect.postprocess import Detections
from cloud.detect.service import DetectionService
from cloud.detect.stillness import StillnessConfig
from cloud.frames_store import LocalFrameStore
from messaging.subscriber import Delivery
from tests.support.databases import TestDatabase

T0 = 1_780_000_000_000  # event time of the first frame
MIN = 60_000
CARCASS = (300.0, 200.0, 380.0, 250.0)


class ScriptedDetector:
    """Stands in for the ONNX model: returns what the script says each frame contains."""

    classes = ("chicken", "dead")
    name = "scripted"

    def __init__(self, script: dict[int, list[tuple[tuple[float, ...], int]]]) -> None:
        self.script = script  # mean pixel value of the frame -> detections

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]:
        out = []
        for image in frames:
            items = self.script.get(int(image[0, 0, 0]), [])
            boxes = np.array([b for b, _ in items], np.float32).reshape(-1, 4)
            out.append(Detections(boxes, np.full(len(items), 0.9, np.float32),
                                  np.array([c for _, c in items], np.int64)))
        return out


class Acks:
    def __init__(self) -> None:
        self.acked: list[int] = []

    def ack(self, delivery: Delivery) -> None:
        self.acked.append(delivery.mid)


def frame_delivery(seq: int, ts: int, tag: int, lit: bool = True) -> Delivery:
    image = np.zeros((120, 160, 3), np.uint8)
    image[...] = (tag, 140, 200) if lit else (tag, tag, tag)
    image[0:8, 0:8] = tag  # the tag survives JPEG as the top-left pixel (blue channel)
    jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 100])[1].tobytes()
    meta = protocol.FrameMeta(gateway_id="gw1", seq=seq, ts=ts, camera="cam1", width=160, height=120,
                              size=len(jpeg), sha256=hashlib.sha256(jpeg).hexdigest())
    return Delivery("fhy/v1/gw1/frame", protocol.encode_frame(meta, jpeg), seq, 1, 0, 0.0)


def make_service(db: TestDatabase, tmp_path, detector, acks) -> DetectionService:  # type: ignore[no-untyped-def]
    import queue

    return DetectionService(queue.Queue(), acks, detector, lambda: db.connect(), LocalFrameStore(tmp_path),
                            DetectMetrics(), stillness=StillnessConfig(), batch_frames=1)


def deaths(db: TestDatabase) -> list[tuple]:
    with db.connect() as conn:
        return conn.execute(
            "SELECT flock_id, house_id, farm_id, ts, evidence FROM mortality_records WHERE source = 'detector'"
        ).fetchall()


def test_two_stateless_workers_report_one_death_and_redelivery_is_a_no_op(farm: TestDatabase, tmp_path) -> None:  # type: ignore[no-untyped-def]
    detector = ScriptedDetector({10: [(CARCASS, 1)]})
    acks = Acks()
    workers = [make_service(farm, tmp_path, detector, acks) for _ in range(2)]
    deliveries = [frame_delivery(seq=i + 1, ts=T0 + i * 5 * MIN, tag=10) for i in range(16)]
    for i, delivery in enumerate(deliveries):  # frames alternate between the two workers
        workers[i % 2].process([delivery])
    workers[0].process([deliveries[8]])  # a redelivery after the confirmation
    found = deaths(farm)
    assert len(found) == 1
    flock, house, farm_id, ts, evidence = found[0]
    assert (flock, house, farm_id) == ("fl1", "h1", "f1")
    assert int(ts.timestamp() * 1000) == T0 + 30 * MIN
    assert (tmp_path / evidence["crop"]).exists() and (tmp_path / evidence["frame"]).exists()
    assert sorted(acks.acked) == sorted([d.mid for d in deliveries] + [deliveries[8].mid])
    with farm.connect() as conn:
        assert conn.execute("SELECT count(*) FROM detection_frames").fetchone()[0] == 16
        assert conn.execute("SELECT count(*) FROM detections").fetchone()[0] == 16
        kept = conn.execute("SELECT signature FROM detection_frames WHERE frame_seq = 1").fetchone()[0]
    # How the frame looks is kept as it was judged: choosing frames to label reads none again.
    image = cv2.imdecode(np.frombuffer(protocol.decode_frame(deliveries[0].payload).jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert bytes(kept) == frame_look.to_stored(frame_look.signature(image))


def test_a_spot_a_person_rejected_is_not_reported_again_the_next_days(farm: TestDatabase, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A static false `dead` box (the camera's burned-in name, a feeder) passes the stillness rule
    # every day. Rejected once, it stays quiet; a real carcass elsewhere is still reported, and
    # without the rejection the same spot would have been reported again after 24 h.
    elsewhere = (40.0, 60.0, 100.0, 100.0)
    detector = ScriptedDetector({10: [(CARCASS, 1)], 20: [(CARCASS, 1), (elsewhere, 1)]})
    service = make_service(farm, tmp_path, detector, Acks())
    for i in range(8):
        service.process([frame_delivery(seq=i + 1, ts=T0 + i * 5 * MIN, tag=10)])
    assert len(deaths(farm)) == 1
    with farm.connect() as conn:
        conn.execute("UPDATE mortality_records SET confirmed = false")
    two_days = T0 + 2 * 24 * 60 * MIN
    for i in range(8):
        service.process([frame_delivery(seq=100 + i, ts=two_days + i * 5 * MIN, tag=20)])
    boxes = [tuple(evidence["box"]) for *_, evidence in deaths(farm)]
    assert sorted(boxes) == sorted([CARCASS, elsewhere])
    with farm.connect() as conn:  # had the farmer confirmed it, the spot would be reported again
        conn.execute("UPDATE mortality_records SET confirmed = true")
    four_days = T0 + 4 * 24 * 60 * MIN
    for i in range(8):
        service.process([frame_delivery(seq=200 + i, ts=four_days + i * 5 * MIN, tag=10)])
    assert [tuple(evidence["box"]) for *_, evidence in deaths(farm)].count(CARCASS) == 2


def test_a_lifted_quiet_spot_is_reported_again(farm: TestDatabase, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Rejected, the spot is quiet; a technician lifts the quiet (a carcass may lie where a feeder
    # was taken for one) and the next still `dead` box there is reported within the 30 days.
    detector = ScriptedDetector({10: [(CARCASS, 1)]})
    service = make_service(farm, tmp_path, detector, Acks())
    day = 24 * 60 * MIN
    for i in range(8):
        service.process([frame_delivery(seq=i + 1, ts=T0 + i * 5 * MIN, tag=10)])
    with farm.connect() as conn:
        conn.execute("UPDATE mortality_records SET confirmed = false")
    for i in range(8):
        service.process([frame_delivery(seq=100 + i, ts=T0 + 2 * day + i * 5 * MIN, tag=10)])
    assert len(deaths(farm)) == 1  # quiet
    with farm.connect() as conn:
        conn.execute("UPDATE mortality_records SET quiet_lifted_at = now()")
    for i in range(8):
        service.process([frame_delivery(seq=200 + i, ts=T0 + 3 * day + i * 5 * MIN, tag=10)])
    assert [tuple(evidence["box"]) for *_, evidence in deaths(farm)] == [CARCASS, CARCASS]


def test_nothing_is_reported_stored_or_counted_inside_a_no_report_zone(farm: TestDatabase, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The OSD name passes the stillness rule every day, past any quiet spot's 30 days. With a zone
    # over it, its boxes are dropped before they are stored; a carcass outside is still reported,
    # and a bird standing half in the zone still counts.
    osd_text = (4.0, 4.0, 60.0, 18.0)
    edge = (50.0, 10.0, 80.0, 40.0)  # a fifth of it inside the zone
    detector = ScriptedDetector({10: [(osd_text, 1), (edge, 0)], 20: [(osd_text, 1), (CARCASS, 1), (edge, 0)]})
    metrics = DetectMetrics()
    service = make_service(farm, tmp_path, detector, Acks())
    service.metrics = metrics
    with farm.connect() as conn:
        conn.execute("INSERT INTO camera_ignore_zones (gateway_id, camera_id, x1, y1, x2, y2) "
                     "VALUES ('gw1', 'cam1', 0, 0, 64, 22)")
    day = 24 * 60 * MIN
    for i in range(8):
        service.process([frame_delivery(seq=i + 1, ts=T0 + 40 * day + i * 5 * MIN, tag=10)])
    assert deaths(farm) == []
    for i in range(8):
        service.process([frame_delivery(seq=100 + i, ts=T0 + 41 * day + i * 5 * MIN, tag=20)])
    assert [tuple(evidence["box"]) for *_, evidence in deaths(farm)] == [CARCASS]
    with farm.connect() as conn:
        stored = conn.execute("SELECT DISTINCT x1, y1, x2, y2 FROM detections ORDER BY 1").fetchall()
        counted = conn.execute("SELECT DISTINCT chickens, detections FROM detection_frames ORDER BY 2").fetchall()
    assert stored == [edge, CARCASS]
    assert counted == [(1, 1), (1, 2)]
    assert metrics.in_zones._value.get() == 16  # one OSD box in each of the 16 frames
    with farm.connect() as conn:  # removed, the zone no longer hides the OSD box
        conn.execute("DELETE FROM camera_ignore_zones")
    for i in range(8):
        service.process([frame_delivery(seq=200 + i, ts=T0 + 43 * day + i * 5 * MIN, tag=10)])
    assert [tuple(evidence["box"]) for *_, evidence in deaths(farm)] == [CARCASS, osd_text]


def test_a_dead_box_far_larger_than_the_birds_in_its_rows_is_not_reported(farm: TestDatabase, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # Hazy empty litter boxed `dead`, 25 birds' area beside two birds, lies still for 75 minutes;
    # a carcass of a bird's size among the same birds is reported.
    birds = [((x, 60.0, x + 20.0, 76.0), 0) for x in (20.0, 130.0)]
    floor = ((40.0, 40.0, 120.0, 120.0), 1)
    carcass = ((60.0, 62.0, 80.0, 78.0), 1)
    service = make_service(farm, tmp_path, ScriptedDetector({10: [floor, *birds], 20: [carcass, *birds]}), Acks())
    for i in range(16):
        service.process([frame_delivery(seq=i + 1, ts=T0 + i * 5 * MIN, tag=10)])
    assert deaths(farm) == []
    for i in range(8):
        service.process([frame_delivery(seq=100 + i, ts=T0 + (20 + i) * 5 * MIN, tag=20)])
    assert [tuple(evidence["box"]) for *_, evidence in deaths(farm)] == [carcass[0]]


def test_dark_frames_and_short_rests_report_nothing(farm: TestDatabase, tmp_path) -> None:  # type: ignore[no-untyped-def]
    detector = ScriptedDetector({20: [(CARCASS, 1)], 30: [((500.0, 300.0, 580.0, 350.0), 0)]})
    service = make_service(farm, tmp_path, detector, Acks())
    night = [frame_delivery(seq=i + 1, ts=T0 + i * 10 * MIN, tag=20, lit=False) for i in range(30)]
    for delivery in night:
        service.process([delivery])
    day = T0 + 30 * 10 * MIN
    rest = [frame_delivery(seq=100 + i, ts=day + i * 5 * MIN, tag=20) for i in range(4)]  # 15 min still
    moved = [frame_delivery(seq=200 + i, ts=day + (4 + i) * 5 * MIN, tag=30) for i in range(4)]
    for delivery in rest + moved:
        service.process([delivery])
    assert deaths(farm) == []


def test_garbage_frames_are_acked_and_counted(farm: TestDatabase, tmp_path) -> None:  # type: ignore[no-untyped-def]
    acks = Acks()
    service = make_service(farm, tmp_path, ScriptedDetector({}), acks)
    bad = Delivery("fhy/v1/gw1/frame", b"not a frame at all", 7, 1, 0, 0.0)
    assert service.process([bad]) == []
    assert acks.acked == [7]
    registry = service.metrics.registry
    assert registry.get_sample_value("fhy_detect_rejected_frames_total", {"reason": "bad_frame"}) == 1
