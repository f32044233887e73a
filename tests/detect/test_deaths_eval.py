"""`models eval-deaths`: what the tracker confirms over simulated hours, per `dead` threshold."""

from __future__ import annotations

import numpy as np
import pytest

from cloud.detect.postprocess import Detections
from cloud.detect.stillness import StillnessConfig
from models.deaths import MIN_MS, T0, CameraRun, DeathsSpec, score, simulate

CARCASS = np.array([100.0, 100.0, 160.0, 140.0])
LYING_BIRD = np.array([400.0, 300.0, 460.0, 340.0])


def _det(boxes: list[np.ndarray], scores: list[float]) -> Detections:
    return Detections(
        np.array(boxes, np.float32).reshape(-1, 4),
        np.array(scores, np.float32),
        np.ones(len(boxes), np.int64),  # all `dead`
    )


def _run() -> CameraRun:
    """A bird dies at minute 10 and scores 0.3 as dead; a bird that never died lies still
    from the start and scores 0.5: a false confirmation at any threshold under 0.5."""
    frames = []
    for k in range(24):
        ts = T0 + k * 5 * MIN_MS
        boxes, scores = [LYING_BIRD], [0.5]
        if k >= 2:
            boxes.append(CARCASS)
            scores.append(0.3)
        frames.append((ts, _det(boxes, scores)))
    return CameraRun(frames, {0: T0 + 10 * MIN_MS}, {0: [CARCASS]})


def test_a_lower_tracker_threshold_confirms_the_faint_carcass_and_counts_false_ones() -> None:
    cfg = StillnessConfig()
    strict = score([_run()], [0.25, 0.25], 1, 0.42, cfg, hours=2)
    loose = score([_run()], [0.25, 0.25], 1, 0.2, cfg, hours=2)
    assert strict["carcasses_in_view"] == loose["carcasses_in_view"] == 1
    assert strict["confirmed"] == 0 and loose["confirmed"] == 1
    assert strict["false_confirmations"] == loose["false_confirmations"] == 1
    assert loose["false_per_camera_day"] == 12.0  # one in two hours of one camera
    # Stillness for 30 minutes over at least 4 frames: confirmed 30 minutes after death.
    assert loose["median_delay_min"] == 30.0
    assert loose["confirmed_within_span_plus_10_min"] == 1


@pytest.mark.parametrize("style", ["classic", "cctv"])
def test_simulated_cameras_give_frames_deaths_and_where_the_dead_lay(style: str) -> None:
    spec = DeathsSpec(cameras=1, hours=1, deaths=2, seed=5, size=(640, 360), style=style)
    seen: list[tuple[int, ...]] = []

    def detect(image: np.ndarray) -> Detections:
        seen.append(image.shape)
        return _det([], [])

    [run] = simulate(spec, detect)
    assert len(run.frames) == 12 and seen[0] == (360, 640, 3)
    assert len(run.died_ms) == 2
    assert set(run.carcass_boxes) <= set(run.died_ms)  # only the dead are carcasses
    assert all(T0 < t <= T0 + 30 * MIN_MS for t in run.died_ms.values())  # first half
    assert score([run], [0.2, 0.4], 1, 0.4, StillnessConfig(), 1)["confirmed"] == 0


def test_osd_zones_drop_what_lies_on_the_burned_in_text() -> None:
    # A box in each corner of every frame; the camera of seed 5 burns its clock and name into two
    # corners, so marking them as no-report zones drops two boxes a frame, and without them none.
    # Found from the camera's frames (cloud.detect.osd), the zones drop the same two.
    corners = [np.array(b, np.float64) for b in ([12, 12, 30, 20], [610, 12, 628, 20], [12, 340, 30, 348],
                                                 [610, 340, 628, 348])]

    def kept(osd_zones: str) -> set[int]:
        spec = DeathsSpec(cameras=1, hours=1, deaths=0, seed=5, size=(640, 360), style="cctv", osd_zones=osd_zones)
        [run] = simulate(spec, lambda image: _det(corners, [0.9] * 4))
        return {len(det) for _, det in run.frames}

    assert kept("none") == {4}
    assert kept("marked") == {2}
    assert kept("found") == {2}


def test_a_farmer_rejecting_false_reports_turns_the_cameras_next_reports_into_notes() -> None:
    # Three birds that never died lie still from minutes 0, 50 and 100, far apart; a bird dies at
    # minute 150. The farmer rejects each false report at once: after two rejections and no
    # confirmation the camera is doubted (cloud/camera_trust.py), so the third false report and
    # the true one wait for the evening digest instead of texting.
    still = [np.array([x, 300.0, x + 60, 340.0]) for x in (100.0, 400.0, 700.0)]
    carcass = np.array([1000.0, 100.0, 1060.0, 140.0])
    frames = []
    for k in range(48):
        ts = T0 + k * 5 * MIN_MS
        boxes = [b for i, b in enumerate(still) if k >= 10 * i] + ([carcass] if k >= 30 else [])
        frames.append((ts, _det(boxes, [0.5] * len(boxes))))
    run = CameraRun(frames, {0: T0 + 150 * MIN_MS}, {0: [carcass]})
    reviews = score([run], [0.25, 0.25], 1, 0.4, StillnessConfig(), hours=4)["farmer_reviews"]
    assert reviews == {"reports": 4, "false": 3, "texted_true": 0, "texted_false": 2, "noted_true": 1,
                       "noted_false": 1}
