"""`models prepare-real --set henhouse` (alias `prepare-henhouse`) on a fake repository with the
henhouse layout (synthetic frames, not the real images): commit check, player bar masking,
class mapping by name, fixed split."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from models.cli import models
from models.evaluate import data_names, image_files, label_path, read_labels
from models.henhouse import player_bar_top
from models.real_frames import LETTERBOX_GREY, RealSetError, prepare
from models.realsets import SETS

HENHOUSE = SETS["henhouse"]

W, H = 1270, 700


def draw_bar(image: np.ndarray, line_y: int) -> None:
    """The web player's bar as the screenshots show it: a dark band, icons, three dots at the
    right, a thin progress line across the width."""
    image[line_y - 60:] //= 4
    cv2.rectangle(image, (18, line_y - 45), (22, line_y - 30), (255, 255, 255), -1)  # pause
    cv2.rectangle(image, (27, line_y - 45), (31, line_y - 30), (255, 255, 255), -1)
    for k in range(3):
        cv2.circle(image, (1250, line_y - 44 + 6 * k), 2, (255, 255, 255), -1)
    image[line_y:line_y + 4, 20:400] = 250
    image[line_y:line_y + 4, 400:1250] = 170


def frame(seed: int, bar: int | None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = np.full((H, W, 3), (70, 90, 110), np.uint8)
    image += rng.integers(0, 20, image.shape, dtype=np.uint8)
    if bar is not None:
        draw_bar(image, bar)
    return image


def yolo(cls: int, x1: float, y1: float, x2: float, y2: float) -> str:
    return f"{cls} {(x1 + x2) / 2 / W} {(y1 + y2) / 2 / H} {(x2 - x1) / W} {(y2 - y1) / H}\n"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture()
def fake_repo(tmp_path: Path) -> tuple[Path, str]:
    """A checkout with the henhouse layout: class 0 is `egg` here, so mapping must go by name."""
    repo = tmp_path / "henhouse"
    project = repo / "yolo" / "dataset" / "project"
    (project / "images").mkdir(parents=True)
    (project / "labels").mkdir()
    (repo / "yolo" / "dataset" / "data.yaml").write_text("names:\n  - egg\n  - chicken\nnc: 2\n")
    for i in range(8):
        bar = 680 if i in (0, 3) else None
        cv2.imwrite(str(project / "images" / f"f{i}.png"), frame(i, bar))
        rows = yolo(0, 600, 300, 620, 315)  # an egg
        if i != 5:  # frame 5 shows no chicken
            rows += yolo(1, 100 + 20 * i, 100, 300 + 20 * i, 300)
        if i == 0:
            rows += yolo(1, 700, 560, 900, 660)  # cut by the bar: 52 of 100 rows still show
            rows += yolo(1, 1000, 610, 1100, 700)  # under it but 12 rows of 90
        (project / "labels" / f"f{i}.txt").write_text(rows)
    git(repo, "init", "-q")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "frames")
    return repo, git(repo, "rev-parse", "HEAD")


def test_player_bar_found_only_where_it_shows() -> None:
    assert player_bar_top(frame(1, None)) is None
    top = player_bar_top(frame(1, 680))
    assert top is not None and 680 - 60 <= top <= 680 - 44  # from the icons' top down
    no_dots = frame(2, None)
    no_dots[640:] //= 4
    no_dots[660:664, 20:1250] = 200  # the progress line alone still marks the bar
    assert player_bar_top(no_dots) == 660 - 48


def test_prepare_masks_maps_and_splits(fake_repo: tuple[Path, str], tmp_path: Path) -> None:
    repo, commit = fake_repo
    out = tmp_path / "hh"
    done = prepare(HENHOUSE, repo, out, adapt=3, seed=0, commit=commit)

    assert done.frames == 8 and len(done.adapt) == 3 and len(done.test) == 5
    assert "f5" not in done.adapt  # adaptation frames show a chicken
    assert done.dropped == {"egg": 8, "under_bar": 1}
    assert len(done.bar_heights) == 2
    assert done.boxes["adapt"]["chicken"] + done.boxes["test"]["chicken"] == 8
    assert done.boxes["adapt"]["dead"] == done.boxes["test"]["dead"] == 0
    assert data_names(out / "test") == ["chicken", "dead"]
    adapt_names = [p.stem for p in image_files(out / "adapt")]
    assert sorted(adapt_names) == sorted(done.adapt)
    assert [p.stem for p in image_files(out / "adapt-1")] == done.adapt[:1]
    assert sorted(p.stem for p in image_files(out / "test")) == sorted(done.test)
    assert (out / "adapt.txt").read_text().split() == done.adapt

    where = "adapt" if "f0" in done.adapt else "test"
    image_path = next(p for p in image_files(out / where) if p.stem == "f0")
    image = cv2.imread(str(image_path))
    masked_rows = np.flatnonzero((image == LETTERBOX_GREY).all(axis=(1, 2)))
    assert masked_rows.size and masked_rows.max() == H - 1
    top = int(masked_rows.min())
    cls, boxes = read_labels(label_path(image_path, out / where), W, H)
    assert cls.tolist() == [0, 0]  # the egg and the bird hidden by the bar are gone
    assert boxes[1, 3] == pytest.approx(top, abs=1) and boxes[1, 1] == pytest.approx(560, abs=1)

    again = prepare(HENHOUSE, repo, tmp_path / "hh2", adapt=3, seed=0, commit=commit)
    assert again.adapt == done.adapt  # fixed
    other = prepare(HENHOUSE, repo, tmp_path / "hh3", adapt=3, seed=1, commit=commit)
    assert other.adapt != done.adapt or other.test != done.test


def test_prepare_refuses_another_commit_and_plain_folders(fake_repo: tuple[Path, str],
                                                          tmp_path: Path) -> None:
    repo, _ = fake_repo
    with pytest.raises(RealSetError, match="is not in"):
        prepare(HENHOUSE, repo, tmp_path / "x")  # the set's own commit is not in the fake
    plain = tmp_path / "plain"
    plain.mkdir()
    with pytest.raises(RealSetError, match="not a git directory"):
        prepare(HENHOUSE, plain, tmp_path / "y")


def test_cli_names_the_missing_commit(fake_repo: tuple[Path, str], tmp_path: Path) -> None:
    repo, _ = fake_repo
    res = CliRunner().invoke(models, ["prepare-henhouse", "--src", str(repo), "--out",
                                      str(tmp_path / "z"), "--json"])
    assert res.exit_code == 1
    assert "commit ed6745f2acac176a92e757af2acf0be2c218b029 is not in" in res.output
    assert "Traceback" not in res.output


def test_cli_json_from_a_bare_copy(fake_repo: tuple[Path, str], tmp_path: Path) -> None:
    repo, commit = fake_repo
    bare = tmp_path / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(repo), str(bare)], check=True)
    res = CliRunner().invoke(models, ["prepare-henhouse", "--src", str(bare), "--out",
                                      str(tmp_path / "b"), "--adapt", "2", "--commit", commit,
                                      "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.output)
    assert doc["commit"] == commit and doc["frames"] == 8 and len(doc["adapt"]) == 2
    assert doc["bar"]["frames"] == 2 and doc["dropped"]["egg"] == 8
    assert doc["set"] == "henhouse" and doc["licence"] == "MIT (README)"
    same = CliRunner().invoke(models, ["prepare-real", "--set", "henhouse", "--src", str(bare),
                                       "--out", str(tmp_path / "r"), "--adapt", "2",
                                       "--commit", commit, "--json"])
    assert same.exit_code == 0, same.output
    assert {**json.loads(same.output), "out": ""} == {**doc, "out": ""}  # the alias is the same command
