"""The second stage's crop geometry and final selection, without a model."""

from __future__ import annotations

import numpy as np
import pytest

from cloud.detect.refine import PAD_VALUE, cut, finish, from_window, fuse, to_window, windows


def test_windows_are_whole_pixel_squares_around_the_box() -> None:
    boxes = np.array([[100.0, 50.0, 140.0, 70.0], [0.0, 0.0, 4.0, 4.0]])
    win = windows(boxes, 1.5)
    assert win[0].tolist() == [90.0, 30.0, 60.0]  # side 1.5 x 40, centre kept
    assert win[1, 2] == 16.0  # tiny boxes still get a window worth looking at
    assert (win == np.round(win)).all()


def test_window_coordinates_round_trip() -> None:
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 600, (20, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(10, 120, (20, 2))], axis=1)
    win = windows(boxes, 1.4)
    rel = to_window(boxes, win)
    assert ((rel > 0) & (rel < 1)).all()  # every box lies inside its window
    assert np.allclose(from_window(rel, win), boxes)


def test_cut_shows_the_box_where_its_window_coordinates_say() -> None:
    frame = np.zeros((200, 300, 3), np.uint8)
    frame[80:120, 130:170] = (10, 200, 30)  # a 40 px bird
    box = np.array([[130.0, 80.0, 170.0, 120.0]])
    win = windows(box, 2.0)
    [crop] = cut(frame, win, 32)
    x0, y0, x1, y1 = (to_window(box, win)[0] * 32).round().astype(int)
    assert (x0, y0, x1, y1) == (8, 8, 24, 24)
    assert (crop[y0 + 1 : y1 - 1, x0 + 1 : x1 - 1] == (10, 200, 30)).all()
    assert (crop[: y0 - 1] == 0).all() and (crop[y1 + 1 :] == 0).all()


def test_cut_pads_outside_the_frame_grey() -> None:
    frame = np.full((100, 100, 3), 7, np.uint8)
    win = windows(np.array([[0.0, 0.0, 20.0, 20.0]]), 2.0)  # half the window is off-frame
    [crop] = cut(frame, win, 40)
    assert (crop[:8, :8] == PAD_VALUE).all()
    assert (crop[-8:, -8:] == 7).all()


def test_cut_takes_any_number_of_windows_of_any_size_alike() -> None:
    """Windows are sampled together per pyramid level, in chunks under remap's row limit:
    each crop must be what cutting its window alone gives."""
    rng = np.random.default_rng(5)
    frame = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
    n = 1200  # 1200 x 64 rows: more than one remap call
    win = np.stack(
        [rng.uniform(-40, 600, n), rng.uniform(-40, 330, n), rng.uniform(8, 500, n)], axis=1
    ).round()
    crops = cut(frame, win, 64)
    assert crops.shape == (n, 64, 64, 3)
    for k in rng.choice(n, 12, replace=False):
        assert np.array_equal(crops[k], cut(frame, win[k : k + 1], 64)[0])
    assert cut(frame, win[:0], 64).shape == (0, 64, 64, 3)


def test_finish_drops_background_thresholds_per_class_and_suppresses_duplicates() -> None:
    probs = np.array(
        [
            [0.9, 0.05, 0.05],  # background
            [0.1, 0.8, 0.1],  # chicken
            [0.1, 0.2, 0.7],  # dead
            [0.1, 0.3, 0.6],  # dead again, same place, lower score
            [0.5, 0.1, 0.4],  # dead, under the dead threshold
        ]
    )
    boxes = np.array(
        [
            [0, 0, 10, 10],
            [20, 20, 40, 140],  # reaches past the frame's bottom
            [50, 50, 70, 70],
            [51, 50, 71, 70],
            [100, 100, 120, 130],
        ],
        float,
    )
    det = finish(probs[:, 1:], boxes, np.array([0.5, 0.45]), 0.5, 110, 110)
    assert det.classes.tolist() == [0, 1]
    assert det.scores.tolist() == pytest.approx([0.8, 0.7])
    assert det.boxes[0].tolist() == [20, 20, 40, 110]


def test_a_bird_the_refiner_is_torn_about_is_reported_as_both_below_one_half() -> None:
    scores = np.array([[0.45, 0.45]])
    boxes = np.array([[10.0, 10.0, 30.0, 30.0]])
    both = finish(scores, boxes, np.array([0.3, 0.3]), 0.5, 100, 100)
    assert sorted(both.classes.tolist()) == [0, 1]
    assert len(finish(scores, boxes, np.array([0.5, 0.5]), 0.5, 100, 100)) == 0


def test_fuse_weighs_the_detectors_score_in_per_class() -> None:
    probs = np.array([[0.2, 0.16, 0.64]])  # background, chicken, dead
    detector = np.array([[0.81, 0.04]])
    assert fuse(probs, detector, ())[0].tolist() == pytest.approx([0.16, 0.64])
    assert fuse(probs, detector, (0.5, 0.0))[0].tolist() == pytest.approx([0.36, 0.64])
    assert fuse(probs, detector, (1.0, 1.0))[0].tolist() == pytest.approx([0.81, 0.04])


def test_trusted_needs_the_class_score_and_every_other_class_unlikely() -> None:
    from cloud.detect.refine import TRUST_OTHERS_BELOW, trusted

    scores = np.array(
        [[0.75, 0.001], [0.75, TRUST_OTHERS_BELOW], [0.65, 0.001], [0.001, 0.95], [0.99, 0.0]],
        np.float32,
    )
    assert trusted(scores, (0.7, 2.0)).tolist() == [True, False, False, False, True]
    assert trusted(scores, (0.7, 0.9)).tolist() == [True, False, False, True, True]
    assert not trusted(scores, ()).any()
    assert trusted(scores[:0], (0.7, 2.0)).shape == (0,)


def test_mirror_flips_crops_and_their_boxes_and_is_its_own_inverse() -> None:
    from cloud.detect.refine import doubtful, mirror, mirror_boxes

    rng = np.random.default_rng(5)
    crops = rng.random((3, 3, 8, 8)).astype(np.float32)
    prior = np.array([[0.1, 0.2, 0.5, 0.9, 0.7, 0.1]] * 3, np.float32)
    flipped, fprior = mirror(crops, prior)
    assert np.array_equal(flipped[:, :, :, 0], crops[:, :, :, -1])
    assert np.allclose(fprior[0], [0.5, 0.2, 0.9, 0.9, 0.7, 0.1])  # scores kept
    assert np.allclose(mirror_boxes(mirror_boxes(prior[:, :4])), prior[:, :4])
    probs = np.array([[0.5, 0.45, 0.05], [0.0, 0.01, 0.99], [0.2, 0.2, 0.6]], np.float32)
    assert doubtful(probs, ((1.0, 0.0), (0.3, 0.97))).tolist() == [False, False, True]
    assert not doubtful(probs, ()).any()
