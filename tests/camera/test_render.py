"""The camera renderer: determinism, labels that match what is drawn, dataset layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from firmware_sim.camera.bird import BirdLook, Pose, draw_bird
from firmware_sim.camera.cli import frames
from firmware_sim.camera.house import make_view
from firmware_sim.camera.plumage import PLUMAGES
from firmware_sim.camera.render import (
    CLASSES,
    MIN_VISIBLE,
    BirdState,
    Conditions,
    render_frame,
)
from firmware_sim.camera.scene import random_sample


def test_same_seed_same_frame_and_labels() -> None:
    a_img, a_lab, _ = random_sample(11, (320, 240))
    b_img, b_lab, _ = random_sample(11, (320, 240))
    c_img, _, _ = random_sample(12, (320, 240))
    assert np.array_equal(a_img, b_img)
    assert a_lab == b_lab
    assert not np.array_equal(a_img, c_img)


@pytest.mark.parametrize("size", [(1280, 720), (640, 480)])
def test_frame_sizes(size: tuple[int, int]) -> None:
    img, labels, _ = random_sample(3, size)
    assert img.shape == (size[1], size[0], 3) and img.dtype == np.uint8
    for lab in labels:
        assert 0 <= lab.x0 < lab.x1 <= size[0] and 0 <= lab.y0 < lab.y1 <= size[1]


def test_label_box_covers_exactly_the_drawn_bird() -> None:
    img = np.full((200, 300, 3), 128, np.uint8)
    ids = np.zeros((200, 300), np.uint16)
    look = BirdLook(
        x=150,
        y=100,
        heading=0.0,
        length_px=80,
        squish=1.0,
        pose=Pose.STAND,
        plumage=PLUMAGES["white"],
        seed=1,
    )
    n = draw_bird(img, ids, 1, look)
    ys, xs = np.nonzero(ids == 1)
    assert n == len(ys) > 0.3 * 80 * 80 * 0.4
    # The bird is long along its heading (x here): tail tip to beak about 1.5 body lengths.
    assert 100 <= xs.max() - xs.min() <= 130 and 30 <= ys.max() - ys.min() <= 60
    assert img[100, 150].mean() > 180  # white bird over grey floor


def test_dead_birds_are_labelled_dead_and_hidden_birds_are_not_labelled() -> None:
    rng = np.random.default_rng(0)
    view = make_view(rng, 640, 480, angled=False, floor="shavings")
    view.occluder[:] = 0
    view.occluder[:, 400:] = 255  # a wall over the right third
    birds = [
        BirdState(
            u=1.0, v=1.0, heading=0.0, length_m=0.4, plumage="brown", pose=Pose.DEAD_SIDE, seed=1
        ),
        BirdState(
            u=2.0, v=1.0, heading=1.0, length_m=0.4, plumage="brown", pose=Pose.LYING, seed=2
        ),
        BirdState(
            u=view.floor_w_m - 0.3,
            v=1.0,
            heading=0.0,
            length_m=0.4,
            plumage="white",
            pose=Pose.STAND,
            seed=3,
        ),
    ]
    _, labels = render_frame(view, birds, Conditions(noise_sigma=0.0, seed=1))
    by_bird = {lab.bird: lab.cls for lab in labels}
    assert by_bird == {0: CLASSES.index("dead"), 1: CLASSES.index("chicken")}


def test_a_label_says_how_much_of_its_bird_shows() -> None:
    rng = np.random.default_rng(0)
    view = make_view(rng, 640, 480, angled=False, floor="shavings")
    view.occluder[:] = 0
    birds = [
        BirdState(u=1.0, v=1.0, heading=0.0, length_m=0.4, plumage="brown", pose=Pose.DEAD_SIDE, seed=1)
    ]
    _, [whole] = render_frame(view, birds, Conditions(noise_sigma=0.0, seed=1))
    assert whole.visible > 0.9
    x0, x1 = int(whole.x0), int(whole.x1)
    view.occluder[:, (x0 + x1) // 2 :] = 255  # a post over the right half of the carcass
    _, [half] = render_frame(view, birds, Conditions(noise_sigma=0.0, seed=1))
    assert half.visible == pytest.approx(whole.visible * (half.x1 - half.x0) / (x1 - x0), abs=0.15)
    assert MIN_VISIBLE <= half.visible < 0.7


def test_night_frames_are_grey() -> None:
    rng = np.random.default_rng(1)
    view = make_view(rng, 320, 240)
    birds = [
        BirdState(
            u=1.0, v=0.5, heading=0.0, length_m=0.4, plumage="yellow", pose=Pose.STAND, seed=1
        )
    ]
    img, _ = render_frame(view, birds, Conditions(night_ir=True, noise_sigma=0.0))
    assert np.array_equal(img[..., 0], img[..., 1]) and np.array_equal(img[..., 1], img[..., 2])


def test_frames_command_writes_a_yolo_dataset(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    result = CliRunner().invoke(
        frames, ["--out", str(out), "--count", "4", "--seed", "5", "--size", "320x240", "--json"]
    )
    assert result.exit_code == 0, result.output
    images = sorted((out / "images").glob("*.jpg"))
    labels = sorted((out / "labels").glob("*.txt"))
    assert len(images) == len(labels) == 4
    doc = yaml.safe_load((out / "data.yaml").read_text())
    assert list(doc["names"].values())[:2] == ["chicken", "dead"]
    rows = [r.split() for f in labels for r in f.read_text().splitlines()]
    assert rows and all(len(r) == 5 and r[0] in ("0", "1") for r in rows)
    assert all(0 <= float(v) <= 1 for r in rows for v in r[1:])
    for label in labels:  # how much of each labelled bird shows, line for line
        shown = (out / "visibility" / label.name).read_text().split()
        assert len(shown) == len(label.read_text().splitlines())
        assert all(MIN_VISIBLE <= float(v) <= 1 for v in shown)
    again = tmp_path / "again"
    CliRunner().invoke(
        frames, ["--out", str(again), "--count", "4", "--seed", "5", "--size", "320x240"]
    )
    assert [f.read_bytes() for f in images] == [
        f.read_bytes() for f in sorted((again / "images").glob("*.jpg"))
    ]
