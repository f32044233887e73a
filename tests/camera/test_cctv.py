"""The `cctv` render style: deterministic, labels on the visible part (also under fisheye), dead
poses, the CLI option; and the classic style pinned byte for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from firmware_sim.camera import lens
from firmware_sim.camera.bird import BirdLook, Pose
from firmware_sim.camera.cctv import _rebox, random_flock, render_cctv
from firmware_sim.camera.cli import frames
from firmware_sim.camera.feathered import Finish, draw_feathered
from firmware_sim.camera.plumage import PLUMAGES
from firmware_sim.camera.render import MIN_VISIBLE, BirdState, Label
from firmware_sim.camera.scene import random_sample
from firmware_sim.camera.wallcam import WallCamera, make_wall_view


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


@pytest.mark.parametrize(
    ("seed", "size", "extra_dead", "channel_means", "labels_md5"),
    [
        (11, (320, 240), 0, (61.114, 61.823, 54.541), "dcb0565b208478b71d864a60d9f8ce67"),
        (4, (640, 480), 2, (166.628, 166.628, 166.628), "441d71e1a9607810443594dcccea8636"),
    ],
)
def test_classic_style_is_unchanged(
    seed: int, size: tuple[int, int], extra_dead: int, channel_means: tuple[float, ...], labels_md5: str
) -> None:
    # Pinned before the cctv style was added: the seed-99 test set and the benches depend on
    # classic frames never changing. The labels are pinned byte for byte; the pixels by their
    # channel means, since OpenCV's builds anti-alias a few edge pixels differently (4.14 against
    # 5.1: 0.01-0.04 grey levels on average, 3 at most), and a fresh install gets a new build.
    img, labels, _ = random_sample(seed, size, extra_dead=extra_dead)
    assert _md5("".join(lab.yolo(*size) for lab in labels).encode()) == labels_md5
    assert img.reshape(-1, 3).mean(axis=0) == pytest.approx(channel_means, abs=0.1)
    explicit, _, _ = random_sample(seed, size, extra_dead=extra_dead, style="classic")
    assert np.array_equal(img, explicit)


def test_cctv_is_deterministic_per_seed_and_differs_from_classic() -> None:
    a, la, _ = random_sample(21, (640, 360), style="cctv")
    b, lb, _ = random_sample(21, (640, 360), style="cctv")
    c, _, _ = random_sample(22, (640, 360), style="cctv")
    classic, _, _ = random_sample(21, (640, 360))
    assert np.array_equal(a, b) and la == lb
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, classic)


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_cctv_frame_has_no_nan_pixels() -> None:
    # Seed that once hit sqrt of a box blur dipping below zero: NaN shading, garbage pixels.
    img, _, _ = random_sample(454587822, (1280, 720), extra_dead=1, style="cctv")
    assert img.dtype == np.uint8


def test_unknown_style_is_refused() -> None:
    with pytest.raises(ValueError, match="style"):
        random_sample(1, (320, 240), style="photo")


@pytest.mark.parametrize("seed", range(6))
def test_cctv_labels_are_inside_the_frame_and_mostly_visible(seed: int) -> None:
    w, h = 640, 360
    img, labels, _ = random_sample(seed, (w, h), extra_dead=2, style="cctv")
    assert img.shape == (h, w, 3) and img.dtype == np.uint8
    for lab in labels:
        assert 0 <= lab.x0 < lab.x1 <= w and 0 <= lab.y0 < lab.y1 <= h
        assert MIN_VISIBLE <= lab.visible <= 1.0


def _view() -> tuple[WallCamera, object]:
    cam = WallCamera(2.5, np.radians(40), np.radians(90), 6.0, 640, 360)
    view = make_wall_view(np.random.default_rng(3), cam)
    view.occluder[:] = 0  # no perches or wire in these tests
    return cam, view


def test_cctv_boxes_are_the_visible_pixels_and_a_buried_bird_is_not_labelled() -> None:
    _, view = _view()
    u, v = view.floor_w_m / 2, 1.0
    birds = [
        BirdState(u, v, 0.0, 0.15, "white", Pose.DEAD_SIDE, seed=1),  # buried under bird 1
        BirdState(u, v + 0.02, 0.0, 0.5, "white", Pose.STAND, seed=2),
        BirdState(u + 0.6, v, 0.0, 0.4, "brown", Pose.DEAD_BACK, seed=3),  # half under bird 3
        BirdState(u + 0.75, v + 0.05, 0.5, 0.45, "white", Pose.STAND, seed=4),
        BirdState(u - 1.0, v + 0.5, 1.0, 0.4, "layer_brown", Pose.PECK, seed=5),
    ]
    _, ids, labels = render_cctv(view, birds, np.random.default_rng(0), night=False)
    by_bird = {lab.bird: lab for lab in labels}
    for i, lab in by_bird.items():
        ys, xs = np.nonzero(ids == i + 1)
        assert (lab.x0, lab.y0, lab.x1, lab.y1) == (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)
    assert set(by_bird) == {1, 2, 3, 4}
    assert by_bird[2].cls == 1 and MIN_VISIBLE <= by_bird[2].visible < 0.95
    assert by_bird[4].visible > 0.95


def test_fisheye_boxes_follow_the_warped_picture() -> None:
    w, h = 640, 360
    ids = np.zeros((h, w), np.uint16)
    ids[20:90, 30:140] = 1  # a bird near the corner, where barrel distortion is strongest
    picture = (ids > 0).astype(np.float32) * 255
    maps = lens.fisheye_maps(w, h, 0.4)
    (lab,) = _rebox([Label(0, 30, 20, 140, 90, bird=0)], lens.remap(ids, maps, nearest=True))
    ys, xs = np.nonzero(lens.remap(picture, maps) > 127)
    assert abs(lab.x0 - xs.min()) <= 1 and abs(lab.x1 - (xs.max() + 1)) <= 1
    assert abs(lab.y0 - ys.min()) <= 1 and abs(lab.y1 - (ys.max() + 1)) <= 1
    assert (lab.x0, lab.y0) != (30, 20)  # the box really moved with the distortion


def test_extra_dead_brings_every_dead_pose() -> None:
    _, view = _view()
    rng = np.random.default_rng(5)
    poses = []
    for _ in range(8):
        poses += [b.pose for b in random_flock(rng, view, "commercial", 8.0, extra_dead=4)]
    assert Pose.DEAD_BACK in poses and Pose.DEAD_SIDE in poses
    dead = sum(
        lab.cls == 1
        for s in range(4)
        for lab in random_sample(s, (640, 360), extra_dead=4, style="cctv")[1]
    )
    assert dead > 0


def test_belly_up_dead_bird_shows_bare_pink_skin() -> None:
    def pink_share(skin: float) -> float:
        img = np.full((240, 320, 3), 90.0, np.float32)
        ids = np.zeros((240, 320), np.uint16)
        look = BirdLook(160, 130, 0.3, 140, 0.8, Pose.DEAD_BACK, PLUMAGES["white"], seed=9)
        n = draw_feathered(img, ids, 1, look, Finish(lift_px=10, skin=skin, texture=0.0))
        pink = (img[..., 0] - img[..., 1] > 35) & (ids == 1)  # white feathers: R close to G
        return np.count_nonzero(pink) / n

    assert pink_share(1.0) > 0.08 > 0.02 > pink_share(0.0)


def test_frames_command_renders_the_cctv_style(tmp_path: Path) -> None:
    runner = CliRunner()
    assert "cctv" in runner.invoke(frames, ["--help"]).output
    out = tmp_path / "ds"
    result = runner.invoke(
        frames, ["--out", str(out), "--count", "2", "--size", "320x240", "--style", "cctv"]
    )
    assert result.exit_code == 0, result.output
    assert len(list((out / "images").glob("*.jpg"))) == 2
    assert len(list((out / "labels").glob("*.txt"))) == 2
    bad = runner.invoke(frames, ["--out", str(out), "--count", "1", "--style", "photo"])
    assert bad.exit_code != 0
