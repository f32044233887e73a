"""The `overhead` render style: the classic camera over `cctv`'s textured birds and carcasses,
as one-off training frames and as a living house."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from click.testing import CliRunner

from firmware_sim.camera.cli import frames
from firmware_sim.camera.render import MIN_VISIBLE
from firmware_sim.camera.scene import HouseScene, random_sample


def test_overhead_is_deterministic_per_seed_and_differs_from_the_other_styles() -> None:
    a, la, _ = random_sample(21, (640, 360), style="overhead")
    b, lb, _ = random_sample(21, (640, 360), style="overhead")
    assert np.array_equal(a, b) and la == lb
    for other in (random_sample(22, (640, 360), style="overhead"), random_sample(21, (640, 360)),
                  random_sample(21, (640, 360), style="cctv")):
        assert not np.array_equal(a, other[0])


def test_overhead_labels_are_inside_the_frame_and_carcasses_come_with_extra_dead() -> None:
    w, h = 640, 360
    dead = 0
    for seed in range(6):
        img, labels, _ = random_sample(seed, (w, h), extra_dead=3, style="overhead")
        assert img.shape == (h, w, 3) and img.dtype == np.uint8
        for lab in labels:
            assert 0 <= lab.x0 < lab.x1 <= w and 0 <= lab.y0 < lab.y1 <= h
            assert MIN_VISIBLE <= lab.visible <= 1.0
        dead += sum(lab.cls == 1 for lab in labels)
    assert dead > 0


def test_a_living_overhead_house_is_deterministic_and_shows_its_carcass_where_it_fell() -> None:
    def house() -> HouseScene:
        scene = HouseScene(3, n_birds=12, size=(640, 360), style="overhead")
        scene.kill(0)
        return scene

    scene = house()
    first = scene.frame(0)
    assert np.array_equal(first.rgb, house().frame(0).rgb)
    assert not np.array_equal(first.rgb, HouseScene(3, n_birds=12, size=(640, 360)).frame(0).rgb)
    (carcass,) = [lab for lab in first.labels if lab.bird == 0]
    assert carcass.cls == 1
    where = (scene.birds[0].u, scene.birds[0].v)
    scene.advance(600)
    assert (scene.birds[0].u, scene.birds[0].v) == where
    assert any(lab.bird == 0 and lab.cls == 1 for lab in scene.frame(600_000).labels)


def test_frames_command_renders_the_overhead_style(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    result = CliRunner().invoke(
        frames, ["--out", str(out), "--count", "2", "--size", "320x240", "--style", "overhead"]
    )
    assert result.exit_code == 0, result.output
    assert len(list((out / "labels").glob("*.txt"))) == 2
