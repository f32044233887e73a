"""Dead-bird confirmation by stillness over event time."""

from __future__ import annotations

import numpy as np

from cloud.detect.postprocess import Detections
from cloud.detect.stillness import CameraTracker, StillnessConfig, lights_on, oversized

CHICKEN, DEAD = 0, 1
MIN = 60_000
T0 = 1_780_000_000_000


def dets(*items: tuple[tuple[float, float, float, float], int]) -> Detections:
    if not items:
        return Detections(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))
    boxes = np.array([box for box, _ in items], np.float32)
    classes = np.array([cls for _, cls in items], np.int64)
    return Detections(boxes, np.full(len(items), 0.8, np.float32), classes)


def run(tracker: CameraTracker, frames: list[tuple[int, Detections, bool]]) -> list:
    found = []
    for ts, detections, lit in frames:
        found += tracker.observe(ts, detections, lit)
    return found


CARCASS = (100.0, 100.0, 160.0, 140.0)


def test_still_dead_bird_is_confirmed_once_after_the_span() -> None:
    tracker = CameraTracker("cam1", DEAD)
    frames = [(T0 + i * 5 * MIN, dets((CARCASS, DEAD)), True) for i in range(30)]  # 2.5 hours
    found = run(tracker, frames)
    assert len(found) == 1
    assert found[0].confirmed_ms == T0 + 30 * MIN  # the first frame at which 30 min had passed
    assert found[0].frames >= 4


def test_a_carcass_boxed_both_dead_and_chicken_is_still_confirmed() -> None:
    # The decoder keeps a bird's chicken box beside its dead box, here scored higher; the dead
    # boxes keep a track of their own, which is confirmed.
    tracker = CameraTracker("cam1", DEAD)
    both = Detections(np.array([CARCASS, CARCASS], np.float32), np.array([0.5, 0.45], np.float32),
                      np.array([CHICKEN, DEAD], np.int64))
    found = run(tracker, [(T0 + i * 5 * MIN, both, True) for i in range(12)])
    assert len(found) == 1 and found[0].box == CARCASS


def test_a_dead_box_far_larger_than_the_birds_beside_it_is_floor_not_a_carcass() -> None:
    # Birds 60x40 in the rows of a 300x200 "dead" box of hazy litter: 25 birds' area.
    birds = [((x, 120.0, x + 60, 160.0), CHICKEN) for x in (400.0, 600.0)]
    floor = ((100.0, 100.0, 400.0, 300.0), DEAD)
    frame = dets(floor, *birds)
    assert oversized(frame, 0, CHICKEN, 6.0)
    tracker = CameraTracker("cam1", DEAD, chicken_class=CHICKEN)
    assert run(tracker, [(T0 + i * 5 * MIN, frame, True) for i in range(12)]) == []
    # Without the chicken class the tracker judges no sizes, and confirms it.
    assert len(run(CameraTracker("cam1", DEAD), [(T0 + i * 5 * MIN, frame, True) for i in range(12)])) == 1
    # A real carcass beside the same birds, a bird's size, is confirmed.
    carcass = dets((CARCASS, DEAD), *birds)
    assert not oversized(carcass, 0, CHICKEN, 6.0)
    assert len(run(CameraTracker("cam1", DEAD, chicken_class=CHICKEN),
                   [(T0 + i * 5 * MIN, carcass, True) for i in range(12)])) == 1


def test_size_is_judged_only_against_birds_at_the_same_distance() -> None:
    big = ((100.0, 500.0, 400.0, 700.0), DEAD)  # near the camera: large
    far = [((x, 10.0, x + 20, 24.0), CHICKEN) for x in (100.0, 200.0, 300.0)]  # far rows: small birds
    assert not oversized(dets(big, *far), 0, CHICKEN, 6.0)  # no bird in its rows: not judged
    one = dets(big, ((500.0, 560.0, 540.0, 590.0), CHICKEN))
    assert not oversized(one, 0, CHICKEN, 6.0)  # one yardstick is not enough
    # A chicken box on the dead box itself (the decoder keeps both) is no yardstick.
    same = dets(big, (big[0], CHICKEN), ((500.0, 560.0, 540.0, 590.0), CHICKEN))
    assert not oversized(same, 0, CHICKEN, 6.0)
    assert oversized(dets(big, ((500.0, 560.0, 540.0, 590.0), CHICKEN), ((600.0, 560.0, 640.0, 590.0), CHICKEN)),
                     0, CHICKEN, 6.0)


def test_box_jitter_within_tolerance_is_still_still() -> None:
    rng = np.random.default_rng(1)
    tracker = CameraTracker("cam1", DEAD)
    frames = []
    for i in range(12):
        jitter = rng.uniform(-3, 3, 4)
        frames.append((T0 + i * 5 * MIN, dets((tuple(np.add(CARCASS, jitter)), DEAD)), True))
    assert len(run(tracker, frames)) == 1


def test_resting_bird_that_moves_before_the_span_raises_nothing() -> None:
    tracker = CameraTracker("cam1", DEAD)
    frames = [(T0 + i * 5 * MIN, dets((CARCASS, DEAD)), True) for i in range(5)]  # 20 minutes
    moved = (130.0, 100.0, 190.0, 140.0)
    frames += [(T0 + (5 + i) * 5 * MIN, dets((moved, CHICKEN)), True) for i in range(3)]
    assert run(tracker, frames) == []


def test_still_bird_classed_chicken_is_not_dead() -> None:
    tracker = CameraTracker("cam1", DEAD)
    frames = [(T0 + i * 5 * MIN, dets((CARCASS, CHICKEN)), True) for i in range(30)]
    assert run(tracker, frames) == []


def test_night_does_not_count_and_daylight_confirms() -> None:
    tracker = CameraTracker("cam1", DEAD)
    night = [(T0 + i * 10 * MIN, dets((CARCASS, DEAD)), False) for i in range(60)]  # 10 hours dark
    assert run(tracker, night) == []
    morning = T0 + 60 * 10 * MIN
    day = [(morning + i * 5 * MIN, dets((CARCASS, DEAD)), True) for i in range(10)]
    found = run(tracker, day)
    assert [c.confirmed_ms for c in found] == [morning + 30 * MIN]


def test_long_gap_restarts_the_clock() -> None:
    tracker = CameraTracker("cam1", DEAD, StillnessConfig(max_gap_s=15 * 60))
    frames = [(T0 + i * 20 * MIN, dets((CARCASS, DEAD)), True) for i in range(6)]  # 20-min gaps
    assert run(tracker, frames) == []


def test_carcass_lost_and_found_again_is_not_reported_twice() -> None:
    tracker = CameraTracker("cam1", DEAD, StillnessConfig(forget_after_s=30 * 60))
    frames = [(T0 + i * 5 * MIN, dets((CARCASS, DEAD)), True) for i in range(8)]
    gap_end = T0 + 8 * 5 * MIN + 2 * 3600_000  # hidden for two hours: the track is forgotten
    frames += [(gap_end + i * 5 * MIN, dets((CARCASS, DEAD)), True) for i in range(10)]
    assert len(run(tracker, frames)) == 1


def test_moving_flock_raises_nothing_and_tracks_stay_bounded() -> None:
    rng = np.random.default_rng(7)
    tracker = CameraTracker("cam1", DEAD)
    frames = []
    for i in range(100):
        items = []
        for _ in range(20):
            x, y = rng.uniform(0, 1200), rng.uniform(0, 650)
            items.append(((x, y, x + 50, y + 40), DEAD if rng.random() < 0.1 else CHICKEN))
        frames.append((T0 + i * 5 * MIN, dets(*items), True))
    assert run(tracker, frames) == []
    assert tracker.track_count <= 20 * (3 * 3600 // 300 + 1)


def test_out_of_order_frames_are_ignored() -> None:
    tracker = CameraTracker("cam1", DEAD)
    tracker.observe(T0 + 10 * MIN, dets((CARCASS, DEAD)), True)
    assert tracker.observe(T0, dets((CARCASS, DEAD)), True) == []


def test_lights_on_tells_colour_day_from_ir_night() -> None:
    day = np.zeros((72, 128, 3), np.uint8)
    day[...] = (60, 140, 200)  # warm litter under lamps
    ir = np.full((72, 128, 3), 150, np.uint8)  # bright but greyscale
    dark = np.full((72, 128, 3), (5, 10, 15), np.uint8)
    assert lights_on(day)
    assert not lights_on(ir)
    assert not lights_on(dark)
