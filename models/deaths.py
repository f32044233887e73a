"""Dead birds found over time: the detector and the stillness tracker on simulated cameras.

`models eval` scores single frames; a farmer sees what the tracker confirms. Here each camera
watches a rendered house for some hours while birds die in view and sick birds rest, and every
frame goes through JPEG, the detector and a `CameraTracker`, as in the detection worker. For
each `dead` threshold the tracker is given, it reports the carcasses confirmed (and how soon
after the death) and the confirmations where no bird lay dead.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from cloud import camera_trust
from cloud.detect import (
    CameraTracker,
    Detections,
    StillnessConfig,
    best_overlap,
    outside,
    text_zones,
)
from firmware_sim.camera.plumage import BROILER, LOCAL
from firmware_sim.camera.render import as_stored
from firmware_sim.camera.scene import HouseScene

log = logging.getLogger(__name__)
MIN_MS = 60_000
T0 = 1_782_000_000_000  # event time of each camera's first frame
OSD_FRAMES = 24  # frames, over the camera's hours, that text is looked for in (the console reads 24)
SAME_CARCASS_IOU = 0.3  # a confirmation this close to where a dead bird lies is that bird
FOUND_IN_MIN = 10  # the bound: confirmed within the stillness span plus ten minutes


@dataclass(frozen=True)
class DeathsSpec:
    cameras: int = 12
    hours: float = 6.0
    frame_min: float = 5.0  # the edge agent's scheduled frame interval
    deaths: int = 2  # per camera, at random times in the first half
    sick_share: float = 0.15  # sick birds lie most of the time: the false alarms to avoid
    seed: int = 99
    size: tuple[int, int] = (1280, 720)
    style: str = "classic"  # one of firmware_sim.camera.STYLES; "cctv": wall cameras
    # No-report zones over each camera's burned-in text: "marked" where it is drawn (a technician
    # marking it by hand), "found" where `cloud.detect.osd` proposes it from the camera's frames
    # (a technician accepting every proposal), "none".
    osd_zones: str = "none"


@dataclass
class CameraRun:
    """One camera's frames as the detector saw them, and where its dead birds lay."""

    frames: list[tuple[int, Detections]]  # (event time, detections at the floor score)
    died_ms: dict[int, int]  # bird index -> time of death
    carcass_boxes: dict[int, list[np.ndarray]]  # bird index -> its visible boxes, as labelled


def simulate(
    spec: DeathsSpec,
    detect: Callable[[np.ndarray], Detections],
    progress: Callable[[int], None] | None = None,
) -> list[CameraRun]:
    """Render every camera's hours and run `detect` on each decoded JPEG frame."""
    rng = np.random.default_rng(spec.seed)
    step_ms = int(spec.frame_min * MIN_MS)
    n_frames = int(spec.hours * 60 / spec.frame_min)
    runs = []
    for cam in range(spec.cameras):
        scene = HouseScene(
            int(rng.integers(2**31)),
            n_birds=int(rng.integers(20, 41)),
            size=spec.size,
            plumages=BROILER if rng.random() < 0.5 else LOCAL,
            maturity=float(rng.uniform(0.35, 1.0)),
            style=spec.style,
        )
        order = rng.permutation(len(scene.birds))
        dying = order[: spec.deaths]
        for i in order[spec.deaths : spec.deaths + round(spec.sick_share * len(order))]:
            scene.sicken(int(i))
        death_frame = {int(i): int(rng.integers(1, max(2, n_frames // 2))) for i in dying}
        run = CameraRun([], {}, {})
        every = max(1, n_frames // OSD_FRAMES)
        seen: list[np.ndarray] = []  # the frames text is looked for in
        for k in range(n_frames):
            ts = T0 + k * step_ms
            if k:
                scene.advance(spec.frame_min * 60)
            for i, at in death_frame.items():
                if at == k:
                    scene.kill(i)
                    run.died_ms[i] = ts
            frame = scene.frame(ts)
            image = as_stored(frame.rgb, frame.jpeg_quality)
            run.frames.append((ts, detect(image)))
            if spec.osd_zones == "found" and k % every == 0:
                seen.append(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY))
            for lab in frame.labels:
                if lab.cls == 1:
                    box = np.array([lab.x0, lab.y0, lab.x1, lab.y1], np.float64)
                    run.carcass_boxes.setdefault(lab.bird, []).append(box)
        zones = _zones(spec.osd_zones, scene, seen)
        run.frames = [(ts, outside(det, zones)) for ts, det in run.frames]
        runs.append(run)
        if progress is not None:
            progress(cam + 1)
    return runs


OSD_MARGIN_PX = 6  # a zone drawn by hand is a little larger than the text


def _zones(how: str, scene: HouseScene, seen: Sequence[np.ndarray]) -> np.ndarray:
    """A camera's no-report zones over its burned-in name and clock: drawn by a technician from its
    first frame ("marked"), proposed from the frames `seen` and all accepted ("found"), or none."""
    if how == "marked":
        boxes = np.array(scene.osd_boxes(T0), np.float64).reshape(-1, 4)
        return np.asarray(boxes + np.array([-OSD_MARGIN_PX, -OSD_MARGIN_PX, OSD_MARGIN_PX, OSD_MARGIN_PX]))
    if how == "found":
        return np.array(text_zones(seen), np.float64).reshape(-1, 4)
    return np.zeros((0, 4))


def score(
    runs: Sequence[CameraRun],
    thresholds: Sequence[float],
    dead_class: int,
    dead_conf: float,
    stillness: StillnessConfig,
    hours: float,
    chicken_class: int | None = None,
) -> dict[str, object]:
    """Replay every camera through a fresh tracker that sees `dead` boxes from `dead_conf`
    (other classes at `thresholds`), and score what it confirms."""
    thr = np.array(thresholds, np.float32)
    thr[dead_class] = dead_conf
    in_view = found = in_time = false = 0
    delays: list[float] = []
    bound_min = stillness.still_span_s / 60 + FOUND_IN_MIN
    for run in runs:
        tracker = CameraTracker("cam", dead_class, stillness, chicken_class)
        confirmed: set[int] = set()
        for ts, det in run.frames:
            kept = det.select(det.scores > thr[det.classes])  # as the detector's decode
            for c in tracker.observe(ts, kept, lights_on=True):
                bird = _which_carcass(np.asarray(c.box), run)
                if bird is None:
                    false += 1
                elif bird not in confirmed:
                    confirmed.add(bird)
                    delay = (c.confirmed_ms - run.died_ms[bird]) / MIN_MS
                    delays.append(delay)
                    in_time += delay <= bound_min
        in_view += len(run.carcass_boxes)
        found += len(confirmed)
    camera_days = len(runs) * hours / 24
    reviewed = Counter[str]()
    for run in runs:
        reviewed.update(_reviewed(run, thr, dead_class, stillness, chicken_class))
    return {
        "dead_conf": round(dead_conf, 4),
        "carcasses_in_view": in_view,
        "confirmed": found,
        "recall": round(found / in_view, 4) if in_view else 0.0,
        f"confirmed_within_span_plus_{FOUND_IN_MIN}_min": in_time,
        "median_delay_min": round(float(np.median(delays)), 1) if delays else None,
        "false_confirmations": false,
        "false_per_camera_day": round(false / camera_days, 3) if camera_days else 0.0,
        "farmer_reviews": {k: reviewed[k] for k in REVIEW_KEYS},
    }


REVIEW_KEYS = ("reports", "false", "texted_true", "texted_false", "noted_true", "noted_false")


def _reviewed(run: CameraRun, thr: np.ndarray, dead_class: int, stillness: StillnessConfig,
              chicken_class: int | None) -> Counter[str]:
    """The camera's reports when the farmer judges each one at once: a false one is rejected (its
    spot goes quiet, as in the worker) and counts against the camera (`cloud/camera_trust.py`);
    a report from a doubted camera is a note for the evening digest, not an SMS."""
    tracker = CameraTracker("cam", dead_class, stillness, chicken_class)
    decisions: list[tuple[int, bool]] = []  # (report time, confirmed)
    out = Counter[str]()
    for ts, det in run.frames:
        for c in tracker.observe(ts, det.select(det.scores > thr[det.classes]), lights_on=True):
            week = [ok for at, ok in decisions if ts - at < camera_trust.REPORTS.total_seconds() * 1000]
            doubted = camera_trust.doubted(camera_trust.Decided(sum(week), len(week) - sum(week)))
            true = _which_carcass(np.asarray(c.box), run) is not None
            out["reports"] += 1
            out["false"] += not true
            out[f"{'noted' if doubted else 'texted'}_{'true' if true else 'false'}"] += 1
            decisions.append((c.confirmed_ms, true))
            if not true:
                tracker.mark_rejected(c.box)
    return out


def _which_carcass(box: np.ndarray, run: CameraRun) -> int | None:
    """The dead bird a confirmed box lies on, if any (anywhere it was seen dead)."""
    birds = [bird for bird, boxes in run.carcass_boxes.items() for _ in boxes]
    seen = np.array([b for boxes in run.carcass_boxes.values() for b in boxes]).reshape(-1, 4)
    k = best_overlap(box, seen, SAME_CARCASS_IOU)
    return None if k is None else birds[k]
