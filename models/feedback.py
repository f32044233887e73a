"""Farmers' and technicians' verdicts on dead-bird alerts, written as a YOLO dataset.

A confirmed record labels its box `dead`; a rejected one leaves its box unlabelled
(background: what the detector took for a carcass is as often a feeder, a drinker or litter
as a live bird; the same rule as the console's label set, cloud.labels.boxes.apply_verdict).
The other birds in the frame carry the detector's own boxes for that frame (pseudo-labels),
so they are not learnt as background. Several verdicts on one frame make one image.
The console's label set (`fuhuiyang models export-labels`) holds these frames too, with the
corrections technicians made on them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cloud.detect import iou_one_to_many

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

CLASSES = ("chicken", "dead")
REPLACE_IOU = 0.3  # a detection this close to a judged box is the same bird


@dataclass(frozen=True)
class Verdict:
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in frame pixels
    confirmed: bool


@dataclass
class FeedbackFrame:
    frame_path: str  # in the frame store
    verdicts: list[Verdict] = field(default_factory=list)
    detections: list[tuple[str, tuple[float, float, float, float]]] = field(default_factory=list)


def yolo_rows(frame: FeedbackFrame, width: int, height: int) -> list[str]:
    """Label lines for one frame: verdicts first, then detections not covered by a verdict."""
    judged = np.array([v.box for v in frame.verdicts], np.float64).reshape(-1, 4)
    rows: list[tuple[int, tuple[float, float, float, float]]] = [
        (CLASSES.index("dead"), v.box) for v in frame.verdicts if v.confirmed
    ]
    for name, box in frame.detections:
        if name not in CLASSES:
            continue
        if len(judged) and iou_one_to_many(np.array(box, np.float64), judged).max() >= REPLACE_IOU:
            continue
        rows.append((CLASSES.index(name), box))
    out = []
    for cls, (x1, y1, x2, y2) in rows:
        x1, x2 = max(0.0, min(x1, width)), max(0.0, min(x2, width))
        y1, y2 = max(0.0, min(y1, height)), max(0.0, min(y2, height))
        if x2 - x1 < 1 or y2 - y1 < 1:
            continue
        out.append(
            f"{cls} {(x1 + x2) / 2 / width:.6f} {(y1 + y2) / 2 / height:.6f} "
            f"{(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}"
        )
    return out


def load_frames(conn: psycopg.Connection[Any], farm: str | None = None) -> list[FeedbackFrame]:
    """Decided detector records and the detections of their frames, grouped by frame."""
    rows = conn.execute(
        "SELECT confirmed, evidence FROM mortality_records WHERE source = 'detector' "
        "AND confirmed IS NOT NULL AND evidence ? 'frame' AND (%s::text IS NULL OR farm_id = %s) "
        "ORDER BY ts, id",
        (farm, farm),
    ).fetchall()
    frames: dict[str, FeedbackFrame] = {}
    for confirmed, ev in rows:
        raw_box = [float(v) for v in ev.get("box") or []]
        if len(raw_box) != 4:
            log.warning("record without a usable box: %s", ev.get("frame"))
            continue
        frame = frames.get(ev["frame"])
        if frame is None:
            frame = frames[ev["frame"]] = FeedbackFrame(ev["frame"])
            dets = conn.execute(
                "SELECT class, x1, y1, x2, y2 FROM detections WHERE gateway_id = %s "
                "AND camera_id = %s AND frame_seq = %s",
                (ev["gateway_id"], ev["camera"], ev["frame_seq"]),
            ).fetchall()
            frame.detections = [
                (str(c), (float(a), float(b), float(d), float(e))) for c, a, b, d, e in dets
            ]
        box = (raw_box[0], raw_box[1], raw_box[2], raw_box[3])
        frame.verdicts.append(Verdict(box, bool(confirmed)))
    return list(frames.values())


def write_feedback(
    frames: Iterable[FeedbackFrame],
    read_jpeg: Callable[[str], bytes],
    out: Path,
    names: Sequence[str] = CLASSES,
) -> dict[str, int]:
    """Write images/labels/data.yaml; returns counts. `read_jpeg(path) -> bytes`."""
    import cv2

    from firmware_sim.camera.dataset import write_data_yaml

    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    counts = {"images": 0, "dead": 0, "chicken": 0, "skipped": 0}
    for frame in frames:
        try:
            data = read_jpeg(frame.frame_path)
        except (OSError, ValueError) as exc:
            log.warning("frame %s unreadable: %s", frame.frame_path, exc)
            counts["skipped"] += 1
            continue
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            counts["skipped"] += 1
            continue
        stem = Path(frame.frame_path).stem
        rows = yolo_rows(frame, img.shape[1], img.shape[0])
        (out / "images" / f"{stem}.jpg").write_bytes(data)
        (out / "labels" / f"{stem}.txt").write_text("".join(r + "\n" for r in rows))
        counts["images"] += 1
        for r in rows:
            counts[names[int(r.split()[0])]] += 1
    write_data_yaml(out, names)
    return counts
