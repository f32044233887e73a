"""Rendered carcasses replayed when a farm's labelled frames hold (almost) none."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from models.carcass_replay import (
    REPLAY_BELOW,
    REPLAY_FRAMES,
    needs_replay,
    rendered_carcasses,
    replay_frames,
    with_carcasses,
)
from models.copy_paste import Labelled, is_grey
from models.evaluate import label_path, read_labels
from models.yolo_folder import CLASSES, write_data_yaml, write_example

DEAD, CHICKEN = CLASSES.index("dead"), CLASSES.index("chicken")


def frame(dead: int, chickens: int = 2) -> Labelled:
    classes = np.array([DEAD] * dead + [CHICKEN] * chickens, np.int64)
    boxes = np.array([[20 + 110 * i, 40, 120 + 110 * i, 120] for i in range(len(classes))], np.float64)
    return Labelled(f"f{dead}", np.full((480, 1280, 3), 90, np.uint8), classes, boxes)


def test_replay_only_below_a_handful_of_labelled_carcasses() -> None:
    assert needs_replay([frame(0)])
    assert needs_replay([frame(REPLAY_BELOW - 1)])
    assert not needs_replay([frame(REPLAY_BELOW - 2), frame(2)])


def test_rendered_carcasses_take_the_size_of_the_farms_birds_and_repeat_per_seed() -> None:
    farm = [frame(0)]  # every labelled bird 100 x 80 px
    cuts = rendered_carcasses(farm, seed=3, count=12)
    assert len(cuts) == 12 and {c.cls for c in cuts} == {DEAD}
    areas = np.array([c.pixels.shape[0] * c.pixels.shape[1] for c in cuts])
    assert np.all((areas > 0.8 * 8000) & (areas < 1.25 * 8000)), areas
    again = rendered_carcasses(farm, seed=3, count=12)
    assert all(np.array_equal(a.pixels, b.pixels) for a, b in zip(cuts, again, strict=True))
    other = rendered_carcasses(farm, seed=4, count=12)
    assert not all(np.array_equal(a.pixels, b.pixels) for a, b in zip(cuts, other, strict=False))


def test_a_farm_without_carcasses_gets_a_few_frames_with_one() -> None:
    farm = [frame(0, chickens=3), frame(0, chickens=1)]
    replayed = with_carcasses(farm, seed=1, count=5)
    assert [f.name for f in replayed] == [f"f0-replay{i:03d}" for i in range(5)]
    for i, f in enumerate(replayed):
        own = farm[i % 2]
        assert np.array_equal(f.classes[:len(own.classes)], own.classes)
        assert f.classes[len(own.classes):].tolist() == [DEAD]
        assert not np.array_equal(f.image, own.image)


def test_replay_goes_on_night_frames_too_in_grey() -> None:
    day, night = frame(0), frame(0)
    day.image[..., 2] = 150  # colour; `night` stays grey, as an IR frame
    night.name = "night"
    replayed = replay_frames([night, day], seed=0)
    assert len(replayed) == REPLAY_FRAMES
    assert {f.name.split("-")[0] for f in replayed} == {"night", "f0"}
    assert all(is_grey(f.image) for f in replayed if f.name.startswith("night"))


def test_paste_carcasses_cli_writes_a_retention_test_set(tmp_path: Path) -> None:
    from models.cli import models

    data = tmp_path / "real"
    for i in range(2):
        f = frame(0, chickens=2)
        write_example(data, f"f{i}", f.image, f.classes, f.boxes, ".jpg")
    write_data_yaml(data)
    res = CliRunner().invoke(models, ["paste-carcasses", "--data", str(data), "--out", str(tmp_path / "o"),
                                      "--per-frame", "3", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["boxes"] == {"chicken": 4, "dead": 6}
    classes, _ = read_labels(label_path(tmp_path / "o" / "images" / "f0-replay000.jpg", tmp_path / "o"), 1280, 480)
    assert sorted(classes.tolist()) == sorted([CHICKEN] * 2 + [DEAD] * 3)
    res = CliRunner().invoke(models, ["paste-carcasses", "--data", str(tmp_path), "--out", str(tmp_path / "x")])
    assert res.exit_code == 1 and "data.yaml" in res.output and "Traceback" not in res.output
