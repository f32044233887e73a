"""The detection loop: frames in, detections and confirmed dead birds out, acked after commit.

Workers hold no tracking state between frames. For each frame, under a per-camera
advisory lock, the camera's recent judged frames are replayed from the database into a
`CameraTracker`, the new frame is judged, and its detections, its `detection_frames` row
and any confirmed death (a `mortality_records` row with evidence) commit together. So any
number of workers can share one subscription, a killed worker loses nothing, and a
redelivered frame is a no-op (its `detection_frames` row already exists).
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

import cv2
import numpy as np
import psycopg

import protocol
from cloud import frame_look
from cloud.detect import quiet
from cloud.detect.evidence import annotated_crop
from cloud.detect.metrics import DetectMetrics
from cloud.detect.postprocess import Detections
from cloud.detect.stillness import CameraTracker, DeadBirdCandidate, StillnessConfig, lights_on
from cloud.detect.zones import camera_zones, outside
from cloud.frames_store import FrameStore
from messaging.subscriber import Delivery

log = logging.getLogger(__name__)

_LOCK_NAMESPACE = 0x46485901  # per-camera advisory locks of the detection workers


class Detector(Protocol):
    classes: Sequence[str]
    name: str

    def detect(self, frames: Sequence[np.ndarray]) -> list[Detections]: ...


class DetectorChoice(Protocol):
    """Which detector judges a camera (cloud.detect.worker.ScopedDetectors)."""

    def refresh(self) -> None: ...

    def for_camera(self, farm_id: str | None, gateway_id: str, camera: str) -> Detector: ...


class Acker(Protocol):
    def ack(self, delivery: Delivery) -> None: ...


@dataclass(frozen=True)
class JudgedFrame:
    frame: protocol.Frame
    image: np.ndarray
    detections: Detections
    lit: bool
    detector: Detector  # the model that judged it (the camera's own, or the default)


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


class DetectionService:
    def __init__(
        self,
        deliveries: queue.Queue[Delivery],
        acker: Acker,
        detector: Detector,
        connect: Callable[[], psycopg.Connection],
        store: FrameStore,
        metrics: DetectMetrics,
        *,
        stillness: StillnessConfig | None = None,
        batch_frames: int = 4,
        choice: DetectorChoice | None = None,
    ) -> None:
        self.deliveries = deliveries
        self.acker = acker
        self.detector = detector
        self._connect = connect
        self._conn: psycopg.Connection | None = None
        self.store = store
        self.metrics = metrics
        self.stillness = stillness or StillnessConfig()
        self.batch_frames = batch_frames
        self.choice = choice
        if "dead" not in detector.classes:  # fail at start, not on the first frame
            raise ValueError(f"model {detector.name} has no 'dead' class: {list(detector.classes)}")

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            batch = self._collect(timeout=0.5)
            if batch:
                self.process(batch)

    def _collect(self, timeout: float) -> list[Delivery]:
        try:
            batch = [self.deliveries.get(timeout=timeout)]
        except queue.Empty:
            return []
        while len(batch) < self.batch_frames:
            try:
                batch.append(self.deliveries.get_nowait())
            except queue.Empty:
                break
        return batch

    def process(self, batch: list[Delivery]) -> list[DeadBirdCandidate]:
        """Judge a batch; returns the deaths confirmed. Acks every delivery it settled."""
        decoded: list[tuple[Delivery, protocol.Frame, np.ndarray]] = []
        for delivery in batch:
            parsed = self._decode(delivery)
            if parsed is None:
                self.acker.ack(delivery)  # unusable for detection; ingest quarantines it
            else:
                decoded.append((delivery, *parsed))
        if not decoded:
            return []
        judged: list[tuple[Delivery, JudgedFrame]] = []
        for detector, items in self._by_detector(decoded):
            started = time.perf_counter()
            results = detector.detect([image for _, _, image in items])
            self.metrics.inference_seconds.observe((time.perf_counter() - started) / len(items))
            judged += [
                (delivery, JudgedFrame(frame, image, det, lights_on(image), detector))
                for (delivery, frame, image), det in zip(items, results, strict=True)
            ]
        judged.sort(key=lambda pair: pair[1].frame.meta.ts)  # event-time order per camera
        confirmed: list[DeadBirdCandidate] = []
        for delivery, item in judged:
            confirmed += self._settle(item)
            self.acker.ack(delivery)
        return confirmed

    def _by_detector(self, decoded: list[tuple[Delivery, protocol.Frame, np.ndarray]]
                     ) -> list[tuple[Detector, list[tuple[Delivery, protocol.Frame, np.ndarray]]]]:
        """The batch split by the model that judges each frame's camera (one group without a choice)."""
        if self.choice is None:
            return [(self.detector, decoded)]
        self.choice.refresh()
        farms = self._farms_of({frame.meta.gateway_id for _, frame, _ in decoded})
        groups: dict[int, tuple[Detector, list[tuple[Delivery, protocol.Frame, np.ndarray]]]] = {}
        for item in decoded:
            meta = item[1].meta
            detector = self.choice.for_camera(farms.get(meta.gateway_id), meta.gateway_id, meta.camera)
            groups.setdefault(id(detector), (detector, []))[1].append(item)
        return list(groups.values())

    def _farms_of(self, gateway_ids: set[str]) -> dict[str, str]:
        for attempt in range(3):
            try:
                conn = self._connection()
                with conn.transaction():
                    found = conn.execute("SELECT id, farm_id FROM gateways WHERE id = ANY(%s)",
                                         (sorted(gateway_ids),)).fetchall()
                return {str(g): str(f) for g, f in found}
            except psycopg.OperationalError:
                log.warning("database unavailable while placing frames (attempt %s)", attempt + 1)
                self._reset_connection()
                time.sleep(min(2**attempt, 5))
        raise RuntimeError("database unavailable: frames left unacknowledged for redelivery")

    def _decode(self, delivery: Delivery) -> tuple[protocol.Frame, np.ndarray] | None:
        try:
            frame = protocol.decode_frame(delivery.payload)
        except protocol.DecodeError as exc:
            self.metrics.rejected.labels(exc.reason).inc()
            return None
        image = cv2.imdecode(np.frombuffer(frame.jpeg, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            self.metrics.rejected.labels("undecodable_jpeg").inc()
            log.warning("frame %s/%s is not a decodable JPEG", frame.meta.gateway_id, frame.meta.seq)
            return None
        return frame, image

    # --- one frame, one transaction ------------------------------------------------
    def _settle(self, item: JudgedFrame) -> list[DeadBirdCandidate]:
        for attempt in range(3):
            try:
                return self._settle_once(item)
            except psycopg.OperationalError:
                log.warning("database unavailable while judging a frame (attempt %s)", attempt + 1)
                self._reset_connection()
                time.sleep(min(2**attempt, 5))
        raise RuntimeError("database unavailable: frame left unacknowledged for redelivery")

    def _connection(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
        return self._conn

    def _reset_connection(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._conn = None

    def _settle_once(self, item: JudgedFrame) -> list[DeadBirdCandidate]:
        meta = item.frame.meta
        conn = self._connection()
        with conn.transaction():
            conn.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                (_LOCK_NAMESPACE, f"{meta.gateway_id}/{meta.camera}"),
            )
            item = self._outside_zones(conn, item)
            chickens, chicken_score = _chickens(item)
            inserted = conn.execute(
                "INSERT INTO detection_frames (ts, gateway_id, camera_id, frame_seq, house_id, lit, detections, model, "
                "chickens, chicken_score, signature) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT DO NOTHING RETURNING 1",
                (_utc(meta.ts), meta.gateway_id, meta.camera, meta.seq, meta.house, item.lit,
                 len(item.detections), item.detector.name, chickens, chicken_score,
                 frame_look.to_stored(frame_look.signature(item.image))),
            ).fetchone()
            if inserted is None:
                self.metrics.duplicates.inc()
                return []
            tracker = self._replay(conn, meta, item.detector)
            candidates = tracker.observe(meta.ts, item.detections, item.lit)
            self._write_detections(conn, item)
            for candidate in candidates:
                self._record_death(conn, item, candidate)
        self.metrics.frames.labels("lit" if item.lit else "dark").inc()
        self.metrics.candidates.inc(len(candidates))
        return candidates

    def _outside_zones(self, conn: psycopg.Connection, item: JudgedFrame) -> JudgedFrame:
        """The frame with its detections in the camera's no-report zones dropped (cloud.detect.zones):
        not stored, counted or tracked."""
        meta = item.frame.meta
        kept = outside(item.detections, camera_zones(conn, meta.gateway_id, meta.camera))
        if len(kept) == len(item.detections):
            return item
        self.metrics.in_zones.inc(len(item.detections) - len(kept))
        return replace(item, detections=kept)

    def _replay(self, conn: psycopg.Connection, meta: protocol.FrameMeta, detector: Detector) -> CameraTracker:
        """Rebuild this camera's tracker from the frames judged before this one."""
        cfg = self.stillness
        classes = list(detector.classes)
        tracker = CameraTracker(meta.camera, classes.index("dead"), cfg,
                                classes.index("chicken") if "chicken" in classes else None)
        now = _utc(meta.ts)
        since = now - timedelta(seconds=max(cfg.forget_after_s, cfg.still_span_s) + cfg.max_gap_s)
        for ts, box in conn.execute(  # reported within the repeat window, and not rejected
            "SELECT ts, evidence->'box' FROM mortality_records WHERE source = 'detector' "
            "AND evidence->>'gateway_id' = %s AND evidence->>'camera' = %s AND ts >= %s AND ts < %s "
            "AND confirmed IS NOT FALSE",
            (meta.gateway_id, meta.camera, now - timedelta(seconds=cfg.repeat_window_s), now),
        ):
            tracker.mark_reported(int(ts.timestamp() * 1000), (float(box[0]), float(box[1]), float(box[2]),
                                                                float(box[3])))
        for spot in quiet.boxes(conn, meta.gateway_id, meta.camera, now):
            tracker.mark_rejected(spot)
        frames = conn.execute(
            "SELECT ts, lit FROM detection_frames WHERE gateway_id = %s AND camera_id = %s "
            "AND ts >= %s AND ts < %s ORDER BY ts",
            (meta.gateway_id, meta.camera, since, now),
        ).fetchall()
        rows = conn.execute(
            "SELECT ts, class, score, x1, y1, x2, y2 FROM detections WHERE gateway_id = %s "
            "AND camera_id = %s AND ts >= %s AND ts < %s ORDER BY ts",
            (meta.gateway_id, meta.camera, since, now),
        ).fetchall()
        by_ts: dict[datetime, list[tuple[int, float, list[float]]]] = {}
        class_index = {name: i for i, name in enumerate(detector.classes)}
        for ts, cls, score, *box in rows:
            by_ts.setdefault(ts, []).append((class_index.get(cls, -1), score, box))
        for ts, lit in frames:
            tracker.observe(int(ts.timestamp() * 1000), _detections(by_ts.get(ts, [])), lit)
        return tracker

    def _write_detections(self, conn: psycopg.Connection, item: JudgedFrame) -> None:
        det, meta = item.detections, item.frame.meta
        if len(det) == 0:
            return
        names = [item.detector.classes[int(c)] for c in det.classes]
        boxes = det.boxes.astype(float)
        conn.execute(
            "INSERT INTO detections (ts, gateway_id, frame_seq, camera_id, house_id, class, score, "
            "x1, y1, x2, y2, model) SELECT %s, %s, %s, %s, %s, c, s, a, b, d, e, %s "
            "FROM unnest(%s::text[], %s::real[], %s::real[], %s::real[], %s::real[], %s::real[]) "
            "AS u(c, s, a, b, d, e)",
            (_utc(meta.ts), meta.gateway_id, meta.seq, meta.camera, meta.house, item.detector.name,
             names, det.scores.astype(float).tolist(), boxes[:, 0].tolist(), boxes[:, 1].tolist(),
             boxes[:, 2].tolist(), boxes[:, 3].tolist()),
        )

    def _record_death(self, conn: psycopg.Connection, item: JudgedFrame, found: DeadBirdCandidate) -> None:
        meta = item.frame.meta
        place = conn.execute(
            "SELECT g.farm_id, coalesce(%s, c.house_id) FROM gateways g "
            "LEFT JOIN cameras c ON c.gateway_id = g.id AND c.id = %s WHERE g.id = %s",
            (meta.house, meta.camera, meta.gateway_id),
        ).fetchone()
        full = self.store.put(item.frame.jpeg)
        crop = self.store.put(annotated_crop(item.image, found.box, found.score))
        evidence = {
            "gateway_id": meta.gateway_id, "camera": meta.camera, "frame_seq": meta.seq,
            "track_id": found.track_id, "box": list(found.box), "score": round(found.score, 3),
            "still_since": _utc(found.still_since_ms).isoformat(), "frames": found.frames,
            "frame": full.path, "crop": crop.path, "model": item.detector.name,
        }
        if place is None or place[1] is None:
            self.metrics.unplaced.inc()
            log.warning("dead bird on %s/%s but the gateway or its house is unknown; evidence %s",
                        meta.gateway_id, meta.camera, crop.path)
            return
        farm_id, house_id = place
        flock = conn.execute(
            "SELECT id FROM flocks WHERE house_id = %s AND placed_on <= %s::date "
            "AND (ended_on IS NULL OR ended_on >= %s::date) ORDER BY placed_on DESC LIMIT 1",
            (house_id, _utc(meta.ts), _utc(meta.ts)),
        ).fetchone()
        conn.execute(
            "INSERT INTO mortality_records (flock_id, house_id, farm_id, ts, count, source, evidence) "
            "VALUES (%s, %s, %s, %s, 1, 'detector', %s)",
            (flock[0] if flock else None, house_id, farm_id, _utc(found.confirmed_ms), json.dumps(evidence)),
        )
        log.info("dead bird confirmed on %s/%s (track %s, still since %s)", meta.gateway_id, meta.camera,
                 found.track_id, evidence["still_since"])


def _chickens(item: JudgedFrame) -> tuple[int | None, float | None]:
    """Chicken boxes in the frame and the sum of their scores (the detector-health check reads them)."""
    if "chicken" not in item.detector.classes:
        return None, None
    mask = item.detections.classes == list(item.detector.classes).index("chicken")
    return int(mask.sum()), float(item.detections.scores[mask].sum())


def _detections(items: list[tuple[int, float, list[float]]]) -> Detections:
    if not items:
        return Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))
    return Detections(
        np.array([box for _, _, box in items], np.float32),
        np.array([score for _, score, _ in items], np.float32),
        np.array([cls for cls, _, _ in items], np.int64),
    )
