"""Dead-bird confirmation: track birds per camera and declare a death only after stillness.

A single frame cannot tell a dead bird from one resting (DESIGN.md §5). A candidate is a
track classed `dead` by most of its recent frames that has not moved for `still_span_s` of
event time, seen in at least `min_frames` lit frames. Time in the dark does not count:
birds rest at night, and the detector sees worst in IR greyscale.

Pure logic over detections: no I/O, no clock but the frames' own event times.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from cloud.detect.postprocess import Detections, iou_one_to_many


@dataclass(frozen=True)
class StillnessConfig:
    still_span_s: float = 30 * 60  # literature: minutes to an hour of no movement
    min_frames: int = 4
    move_tolerance: float = 0.15  # centre shift, as a share of the box diagonal
    match_iou: float = 0.3
    max_gap_s: float = 20 * 60  # a longer gap between lit frames restarts the stillness clock
    forget_after_s: float = 3 * 3600  # unmatched tracks (occluded carcasses) kept this long
    dead_vote: float = 0.6  # share of a track's frames that must say `dead`
    vote_window: int = 12
    repeat_iou: float = 0.3  # a confirmed carcass is not reported twice...
    repeat_window_s: float = 24 * 3600  # ...within this span
    # A spot a person rejected (burned-in camera name, a feeder, a smudge) stays quiet this long:
    # static, it would pass the stillness rule again every day.
    rejected_window_s: float = 30 * 24 * 3600
    # A `dead` box this many times the area of the typical bird at the same distance from the
    # camera is a patch of floor, not a carcass (`oversized`): it does not vote `dead`.
    oversize: float = 6.0


@dataclass(frozen=True)
class DeadBirdCandidate:
    camera: str
    track_id: int
    box: tuple[float, float, float, float]
    score: float
    first_seen_ms: int
    still_since_ms: int
    confirmed_ms: int
    frames: int


@dataclass
class _Track:
    track_id: int
    box: np.ndarray
    anchor: np.ndarray  # where it was when it last moved
    first_seen_ms: int
    last_seen_ms: int
    still_since_ms: int
    still_lit_s: float = 0.0
    still_frames: int = 0
    last_lit_ms: int | None = None
    votes: list[bool] = field(default_factory=list)
    best_dead_score: float = 0.0
    confirmed: bool = False

    def dead_share(self) -> float:
        return sum(self.votes) / len(self.votes) if self.votes else 0.0


CONTAINED = 0.85  # share of the smaller box inside the larger: the same body, partly hidden
SAME_BODY_IOU = 0.5  # a `chicken` box on the carcass itself is no yardstick for it
MIN_YARDSTICKS = 2  # birds at the same distance needed before a box is judged too large


def oversized(det: Detections, index: int, chicken_class: int, oversize: float) -> bool:
    """Whether box `index` is far larger than the typical bird at the same distance from the camera.

    A wall camera sees near birds larger than far ones, so the yardsticks are the other
    `chicken` boxes whose centres lie within one box height above or below it (the rows at
    about its distance), and the typical one is their median area: the detector puts a few
    large false `chicken` boxes on the same hazy floor. With fewer than MIN_YARDSTICKS of them
    nothing is judged."""
    box = det.boxes[index].astype(np.float64)
    height = box[3] - box[1]
    others = det.boxes[(det.classes == chicken_class) & (np.arange(len(det)) != index)].astype(np.float64)
    centres = (others[:, 1] + others[:, 3]) / 2
    near = others[(centres >= box[1] - height) & (centres <= box[3] + height)]
    if len(near):
        near = near[iou_one_to_many(box, near) < SAME_BODY_IOU]
    if len(near) < MIN_YARDSTICKS:
        return False
    areas = (near[:, 2] - near[:, 0]) * (near[:, 3] - near[:, 1])
    return bool((box[2] - box[0]) * height > oversize * float(np.median(areas)))


def _moved(anchor: np.ndarray, box: np.ndarray, tolerance: float) -> bool:
    centre_a = (anchor[:2] + anchor[2:]) / 2
    centre_b = (box[:2] + box[2:]) / 2
    diagonal = float(np.hypot(anchor[2] - anchor[0], anchor[3] - anchor[1])) or 1.0
    if float(np.hypot(*(centre_b - centre_a))) <= tolerance * diagonal:
        return False
    # Birds walk over and past a carcass: its visible box shrinks inside the old one (or grows
    # back around it) and the centre shifts, but nothing moved.
    return _share_of_smaller_inside(anchor, box) < CONTAINED


def _share_of_smaller_inside(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, float(min(a[2], b[2]) - max(a[0], b[0])))
    h = max(0.0, float(min(a[3], b[3]) - max(a[1], b[1])))
    smaller = min(float((a[2] - a[0]) * (a[3] - a[1])), float((b[2] - b[0]) * (b[3] - b[1])))
    return w * h / smaller if smaller > 0 else 0.0


class CameraTracker:
    """Tracks for one camera. Feed frames in event-time order."""

    def __init__(self, camera: str, dead_class: int, config: StillnessConfig | None = None,
                 chicken_class: int | None = None) -> None:
        self.camera = camera
        self.dead_class = dead_class
        self.chicken_class = chicken_class  # None: boxes are not judged by size (`oversized`)
        self.config = config or StillnessConfig()
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._confirmed: list[tuple[int, np.ndarray]] = []  # (confirmed_ms, box)
        self._rejected: list[np.ndarray] = []  # boxes a person said hold no dead bird
        self._last_ts: int | None = None

    @property
    def track_count(self) -> int:
        return len(self._tracks)

    def mark_reported(self, ts_ms: int, box: tuple[float, float, float, float]) -> None:
        """A carcass already reported (e.g. by an earlier run): never report it again."""
        self._confirmed.append((ts_ms, np.asarray(box, np.float64)))

    def mark_rejected(self, box: tuple[float, float, float, float]) -> None:
        """A report a person rejected (within `rejected_window_s`): nothing there is reported."""
        self._rejected.append(np.asarray(box, np.float64))

    def observe(self, ts_ms: int, detections: Detections, lights_on: bool) -> list[DeadBirdCandidate]:
        if self._last_ts is not None and ts_ms < self._last_ts:
            return []  # out-of-order frame: tracking state only moves forward in event time
        self._last_ts = ts_ms
        matched = self._match(detections)
        for index, track in matched:
            self._update(track, detections, index, ts_ms, lights_on)
        for index in set(range(len(detections))) - {i for i, _ in matched}:
            self._start(detections, index, ts_ms, lights_on)
        self._forget(ts_ms)
        return [self._confirm(track, ts_ms) for track in self._tracks if self._ready(track, ts_ms)]

    def _match(self, det: Detections) -> list[tuple[int, _Track]]:
        """Greedy IoU matching, best overlaps first."""
        if not self._tracks or len(det) == 0:
            return []
        pairs: list[tuple[float, int, int]] = []
        for t_index, track in enumerate(self._tracks):
            overlaps = iou_one_to_many(track.box, det.boxes)
            for hit in np.nonzero(overlaps >= self.config.match_iou)[0]:
                pairs.append((float(overlaps[hit]), t_index, int(hit)))
        pairs.sort(reverse=True)
        used_tracks: set[int] = set()
        used_dets: set[int] = set()
        matched: list[tuple[int, _Track]] = []
        for _, t_index, d_index in pairs:
            if t_index in used_tracks or d_index in used_dets:
                continue
            used_tracks.add(t_index)
            used_dets.add(d_index)
            matched.append((d_index, self._tracks[t_index]))
        return matched

    def _start(self, det: Detections, index: int, ts_ms: int, lit: bool) -> None:
        box = det.boxes[index].astype(np.float64)
        track = _Track(self._next_id, box, box.copy(), ts_ms, ts_ms, ts_ms)
        self._restart_stillness(track, ts_ms, lit)
        self._next_id += 1
        self._vote(track, det, index)
        self._tracks.append(track)

    def _vote(self, track: _Track, det: Detections, index: int) -> None:
        is_dead = int(det.classes[index]) == self.dead_class and not (
            self.chicken_class is not None and oversized(det, index, self.chicken_class, self.config.oversize))
        track.votes = [*track.votes, is_dead][-self.config.vote_window :]
        if is_dead:
            track.best_dead_score = max(track.best_dead_score, float(det.scores[index]))

    def _update(self, track: _Track, det: Detections, index: int, ts_ms: int, lit: bool) -> None:
        cfg = self.config
        box = det.boxes[index].astype(np.float64)
        track.box = box
        track.last_seen_ms = ts_ms
        self._vote(track, det, index)
        if _moved(track.anchor, box, cfg.move_tolerance):
            track.anchor = box.copy()
            track.still_since_ms = ts_ms
            self._restart_stillness(track, ts_ms, lit)
            return
        if not lit:
            return
        if track.last_lit_ms is None or (ts_ms - track.last_lit_ms) / 1000 > cfg.max_gap_s:
            self._restart_stillness(track, ts_ms, lit)
            return
        track.still_lit_s += (ts_ms - track.last_lit_ms) / 1000
        track.still_frames += 1
        track.last_lit_ms = ts_ms

    @staticmethod
    def _restart_stillness(track: _Track, ts_ms: int, lit: bool) -> None:
        """Stillness is counted from this frame; a lit frame is its first observation."""
        track.still_lit_s = 0.0
        track.still_frames = 1 if lit else 0
        track.last_lit_ms = ts_ms if lit else None

    def _ready(self, track: _Track, ts_ms: int) -> bool:
        cfg = self.config
        return (
            not track.confirmed
            and track.last_seen_ms == ts_ms
            and track.still_lit_s >= cfg.still_span_s
            and track.still_frames >= cfg.min_frames
            and track.dead_share() >= cfg.dead_vote
            and not self._already_reported(track.box, ts_ms)
        )

    def _already_reported(self, box: np.ndarray, ts_ms: int) -> bool:
        cfg = self.config
        recent = [b for t, b in self._confirmed if (ts_ms - t) / 1000 <= cfg.repeat_window_s] + self._rejected
        if not recent:
            return False
        return bool(np.any(iou_one_to_many(box, np.stack(recent)) >= cfg.repeat_iou))

    def _confirm(self, track: _Track, ts_ms: int) -> DeadBirdCandidate:
        track.confirmed = True
        self._confirmed.append((ts_ms, track.box.copy()))
        x0, y0, x1, y1 = (float(v) for v in track.box)
        return DeadBirdCandidate(
            camera=self.camera,
            track_id=track.track_id,
            box=(x0, y0, x1, y1),
            score=track.best_dead_score,
            first_seen_ms=track.first_seen_ms,
            still_since_ms=track.still_since_ms,
            confirmed_ms=ts_ms,
            frames=track.still_frames,
        )

    def _forget(self, ts_ms: int) -> None:
        horizon = self.config.forget_after_s * 1000
        self._tracks = [t for t in self._tracks if ts_ms - t.last_seen_ms <= horizon]
        window = self.config.repeat_window_s * 1000
        self._confirmed = [(t, b) for t, b in self._confirmed if ts_ms - t <= window]


def lights_on(image_bgr: np.ndarray, min_luma: float = 40.0, min_saturation: float = 12.0) -> bool:
    """Lit and in colour. IR night frames are greyscale (no saturation); dark frames are dim."""
    import cv2

    small = cv2.resize(image_bgr, (64, 36), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    return float(hsv[..., 2].mean()) >= min_luma and float(hsv[..., 1].mean()) >= min_saturation
