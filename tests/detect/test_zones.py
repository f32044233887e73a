"""The no-report zone rule (cloud.detect.zones): a box mostly inside a zone is dropped."""

from __future__ import annotations

import numpy as np

from cloud.detect import Detections, outside
from cloud.detect.zones import grown, inside_share


def dets(*boxes: tuple[float, float, float, float]) -> Detections:
    return Detections(np.array(boxes, np.float32).reshape(-1, 4), np.full(len(boxes), 0.9, np.float32),
                      np.ones(len(boxes), np.int64))


def test_a_box_mostly_inside_any_one_zone_is_dropped_and_others_kept() -> None:
    zones = np.array([[0, 0, 100, 20], [500, 500, 600, 600]], np.float64)
    det = dets((10, 5, 50, 15),     # wholly inside the first
               (80, 0, 120, 20),    # half inside: dropped
               (90, 0, 130, 20),    # a quarter inside: kept
               (200, 200, 260, 240),  # outside both
               (550, 550, 650, 650))  # a quarter inside the second: kept
    np.testing.assert_allclose(inside_share(det.boxes, zones), [1.0, 0.5, 0.25, 0.0, 0.25])
    kept = outside(det, zones)
    assert kept.boxes.tolist() == [[90, 0, 130, 20], [200, 200, 260, 240], [550, 550, 650, 650]]


def test_no_zones_or_no_detections_change_nothing() -> None:
    det = dets((10, 5, 50, 15))
    assert outside(det, np.zeros((0, 4))) is det
    empty = dets()
    assert len(outside(empty, np.array([[0, 0, 10, 10]], np.float64))) == 0


def test_a_spot_grows_by_half_its_size_per_side_and_stays_on_the_frame() -> None:
    assert grown((10.0, 100.0, 50.0, 120.0)) == (0.0, 90.0, 70.0, 130.0)
