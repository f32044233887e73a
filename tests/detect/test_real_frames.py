"""`models.real_frames` beyond henhouse: a set laid out as a Roboflow export (`train/` and
`test/` folders, several classes, one of them a carcass) prepared through a table entry, built
here as a tiny git repository of synthetic frames."""

from __future__ import annotations

import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.evaluate import data_names, image_files, label_path, read_labels
from models.real_frames import RealSetError, prepare
from models.realsets import SETS, RealSet

W, H = 320, 240


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def yolo(cls: int, x1: float, y1: float, x2: float, y2: float) -> str:
    return f"{cls} {(x1 + x2) / 2 / W} {(y1 + y2) / 2 / H} {(x2 - x1) / W} {(y2 - y1) / H}\n"


@pytest.fixture()
def export(tmp_path: Path) -> tuple[Path, str]:
    """Classes `feeder`, `hen`, `dead-hen`: six frames in train/, three in test/; t1 has no label
    file, t2 an empty one."""
    repo = tmp_path / "broilers"
    root = repo / "data"
    root.mkdir(parents=True)
    (root / "data.yaml").write_text("nc: 3\nnames: ['feeder', 'hen', 'dead-hen']\n")
    rng = np.random.default_rng(0)
    for split, count in (("train", 6), ("test", 3)):
        (root / split / "images").mkdir(parents=True)
        (root / split / "labels").mkdir()
        for i in range(count):
            name = f"{split[:2]}{i}"
            image = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
            cv2.imwrite(str(root / split / "images" / f"{name}.jpg"), image)
            if name == "te1":
                continue
            rows = "" if name == "te2" else yolo(0, 10, 10, 40, 30) + yolo(1, 100, 100, 150, 140)
            if name in ("tr0", "tr3"):
                rows += yolo(2, 200, 150, 260, 190)
            (root / split / "labels" / f"{name}.txt").write_text(rows)
    git(repo, "init", "-q")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "export")
    return repo, git(repo, "rev-parse", "HEAD")


def entry(commit: str, **kw: object) -> RealSet:
    fields: dict[str, object] = {
        "name": "broilers", "repo": "someone/broilers", "commit": commit, "licence": "CC0",
        "root": "data", "image_dirs": ("train/images", "test/images"),
        "classes": {"hen": "chicken", "dead-hen": "dead"}, **kw,
    }
    return RealSet(**fields)  # type: ignore[arg-type]


def test_several_folders_classes_mapped_by_name_and_split(export: tuple[Path, str],
                                                          tmp_path: Path) -> None:
    repo, commit = export
    out = tmp_path / "out"
    done = prepare(entry(commit), repo, out, adapt=3, seed=0)

    assert done.frames == 9 and len(done.adapt) == 3 and len(done.test) == 6
    assert not {"te1", "te2"} & set(done.adapt)  # adaptation frames show a bird
    assert done.dropped == {"feeder": 7}
    assert done.bar_heights == []
    total = {c: done.boxes["adapt"][c] + done.boxes["test"][c] for c in ("chicken", "dead")}
    assert total == {"chicken": 7, "dead": 2}
    assert data_names(out / "test") == ["chicken", "dead"]

    for where in ("adapt", "test"):
        for image in image_files(out / where):
            cls, boxes = read_labels(label_path(image, out / where), W, H)
            if image.stem in ("tr0", "tr3"):
                assert sorted(cls.tolist()) == [0, 1]  # the carcass is ours `dead`
                dead = boxes[cls == 1][0]
                assert dead == pytest.approx([200, 150, 260, 190], abs=1)
            elif image.stem in ("te1", "te2"):
                assert cls.size == 0  # kept as a frame without birds, for false alarms
            else:
                assert cls.tolist() == [0]


def test_a_class_we_do_not_have_and_repeated_names_are_refused(export: tuple[Path, str],
                                                               tmp_path: Path) -> None:
    repo, commit = export
    with pytest.raises(RealSetError, match="classes we do not have"):
        prepare(entry(commit, classes={"hen": "hen"}), repo, tmp_path / "a")
    with pytest.raises(RealSetError, match="file names repeat"):
        prepare(entry(commit, image_dirs=("train/images", "train/images")), repo, tmp_path / "b")
    with pytest.raises(RealSetError, match="only 1 frames show a bird"):
        prepare(entry(commit, image_dirs=("test/images",)), repo, tmp_path / "c", adapt=3)


def test_every_listed_set_names_a_licence_a_commit_and_our_classes() -> None:
    for name, spec in SETS.items():
        assert spec.name == name and spec.licence and len(spec.commit) == 40
        assert set(spec.classes.values()) <= {"chicken", "dead"}


def test_spread_choice_takes_the_frames_the_console_would_suggest(tmp_path: Path) -> None:
    """Eight day frames and two IR nights: the console's order labels one of each first,
    where a draw of two would most likely take two day frames."""
    repo = tmp_path / "coop"
    images = repo / "data" / "train" / "images"
    images.mkdir(parents=True)
    (repo / "data" / "train" / "labels").mkdir()
    (repo / "data" / "data.yaml").write_text("names: ['hen']\n")
    rng = np.random.default_rng(1)
    for i in range(10):
        night = i >= 8
        image = np.full((H, W, 3), (40, 40, 40) if night else (60, 120, 170), np.uint8)
        x = 40 + 25 * i
        cv2.ellipse(image, (x, 120), (20, 12), 0, 0, 360, (200, 200, 200) if night else (230, 235, 240), -1)
        cv2.imwrite(str(images / f"f{i}.png"), np.clip(image + rng.normal(0, 2, image.shape), 0, 255).astype(np.uint8))
        (repo / "data" / "train" / "labels" / f"f{i}.txt").write_text(yolo(0, x - 20, 108, x + 20, 132))
    git(repo, "init", "-q")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "add", ".")
    git(repo, "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "coop")
    spec = entry(git(repo, "rev-parse", "HEAD"), image_dirs=("train/images",), classes={"hen": "chicken"})

    out = tmp_path / "out"
    drawn = prepare(spec, repo, out, adapt=2, seed=0)
    done = prepare(spec, repo, out, adapt=2, choose="spread")  # into the same folder
    assert sorted(int(name[1:]) >= 8 for name in done.adapt) == [False, True]
    assert len(done.test) == 8 and done.adapt != drawn.adapt
    on_disk = {p.stem for p in image_files(out / "test")}
    assert on_disk == set(done.test) and not on_disk & set(done.adapt)  # no frame left from the draw
    with pytest.raises(RealSetError, match="unknown choice"):
        prepare(spec, repo, tmp_path / "other", adapt=2, choose="newest")
