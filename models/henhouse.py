"""Real CCTV frames from the public `matitalatina/henhouse` repository as a test of the detector.

The repository (its README states the MIT licence) holds 115 screenshots of one oblique camera
in a backyard coop, day colour and IR night, labelled in YOLO format `0: chicken, 1: egg`.
Nothing of it ships with this project: `fuhuiyang models prepare-henhouse` reads a local copy
(a bare git directory or a checkout), checks the commit, and writes our YOLO layout:

- the web player's control bar (play button, time, volume, full screen, the three-dot menu
  and, on most, a progress line) shows in about a third of the screenshots at different heights
  (the screenshots were cropped by hand): it is found per frame and painted over in letterbox
  grey from the top of its icons down; boxes are cut at the bar, and a bird left with under 30 %
  of its height is dropped (the renderer's rule for hidden birds);
- classes are matched by name: `chicken` is ours, `egg` is dropped;
- a fixed split: in a seeded shuffle of the file names, the first `adapt` frames that show at
  least one chicken go to `adapt/` (what a technician would label), every other frame to
  `test/`; `adapt-1/` and `adapt-5/` are the first 1 and 5 of them, for the learning curve.
"""

from __future__ import annotations

import io
import logging
import subprocess
import tarfile
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import yaml

from models.yolo_folder import write_data_yaml, write_example

log = logging.getLogger(__name__)

COMMIT = "ed6745f2acac176a92e757af2acf0be2c218b029"
DATASET = "yolo/dataset"
PROJECT = f"{DATASET}/project"
IMAGE_EXT = (".png", ".jpg", ".jpeg")
LETTERBOX_GREY = 114
MIN_SHOWING = 0.3  # a bird cut by the bar to less than this share of its height is not labelled
SUBSETS = (1, 5)  # nested adaptation subsets written beside the full one


class HenhouseError(RuntimeError):
    """The source is not the expected commit or lacks the dataset."""


@dataclass
class Frame:
    name: str  # file stem in the source repository
    image: np.ndarray
    classes: np.ndarray  # ours (0: chicken)
    boxes: np.ndarray  # xyxy pixels
    bar_top: int | None  # first masked row, None when no player bar shows


@dataclass
class Prepared:
    commit: str
    frames: int
    adapt: list[str]
    test: list[str]
    bar_heights: list[int]
    chickens: dict[str, int]
    dropped: Counter[str] = field(default_factory=Counter)


# --- the player bar -------------------------------------------------------------------------

def _menu_dots(gray: np.ndarray) -> tuple[float, float, float] | None:
    """The player's three-dot menu at the right end of its bar: (x, top, bottom) of its dots.

    Three small bright blobs stacked in one column, 4-14 px apart, near the bottom right corner.
    """
    h, w = gray.shape
    y0 = max(0, h - 130)
    x0 = int(w * 0.955)
    roi = (gray[y0:, x0:] > 190).astype(np.uint8)
    n, _, stats, cents = cv2.connectedComponentsWithStats(roi)
    dots = [(cents[i][0] + x0, cents[i][1] + y0, stats[i][4]) for i in range(1, n)
            if 3 <= stats[i][4] <= 120 and stats[i][2] <= 12 and stats[i][3] <= 12]
    for x, _, area in dots:
        column = sorted(d[1] for d in dots
                        if abs(d[0] - x) <= 2.5 and abs(d[2] - area) <= max(6, 0.5 * area))
        if len(column) >= 3 and all(4 <= g <= 14 for g in np.diff(column)[:2]):
            return x, column[0], column[-1]
    return None


def _progress_line(gray: np.ndarray) -> int | None:
    """First row of the thin progress line spanning the frame's width, brighter than the dark
    band around it over 90 % of its length."""
    h, w = gray.shape
    x1, x2 = int(w * 0.016), int(w * 0.984)
    for y in range(max(4, h - 120), h - 4):
        row, up, down = gray[y, x1:x2], gray[y - 4, x1:x2], gray[y + 4, x1:x2]
        if np.mean((row > up + 40) & (row > down + 40)) >= 0.9:
            return y
    return None


def player_bar_top(image: np.ndarray) -> int | None:
    """First row covered by the player's control bar, or None where it does not show.

    Its icons sit 40-42 px above the progress line; the three dots are as tall as the icons,
    so the bar starts a dot gap above the top dot.
    """
    gray = image.mean(axis=2) if image.ndim == 3 else image.astype(np.float64)
    dots = _menu_dots(gray)
    if dots is not None:
        _, top, bottom = dots
        return max(0, int(top - max(6.0, (bottom - top) / 2)))
    line = _progress_line(gray)
    if line is not None:
        return max(0, line - 48)
    return None


def mask_bar(image: np.ndarray, classes: np.ndarray, boxes: np.ndarray, top: int | None,
             dropped: Counter[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Grey out rows from `top` down; cut boxes there and drop those left mostly hidden."""
    if top is None:
        return image, classes, boxes
    image = image.copy()
    image[top:] = LETTERBOX_GREY
    keep = []
    boxes = boxes.copy()
    for i, (_, y1, _, y2) in enumerate(boxes.tolist()):
        showing = max(0.0, min(y2, top) - y1) / max(y2 - y1, 1e-9)
        if showing < MIN_SHOWING:
            dropped["under_bar"] += 1
            continue
        boxes[i, 3] = min(y2, top)
        keep.append(i)
    return image, classes[keep], boxes[keep]


# --- reading the source ----------------------------------------------------------------------

def _git(git_dir: Path, *args: str) -> bytes:
    proc = subprocess.run(["git", f"--git-dir={git_dir}", *args], capture_output=True, check=False)
    if proc.returncode != 0:
        raise HenhouseError(f"git {' '.join(args[:2])} in {git_dir}: "
                            f"{proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def _git_dir(src: Path) -> Path | None:
    if (src / "objects").is_dir() and (src / "HEAD").is_file():
        return src  # bare
    if (src / ".git").exists():
        return src / ".git"
    return None


def extract(src: Path, into: Path, commit: str = COMMIT) -> Path:
    """The dataset folder of `commit` from a git directory or checkout, written under `into`.

    From a checkout, the files must be those of `commit` (HEAD at it, nothing changed in the
    dataset); either way the files are taken from git's objects, not the work tree.
    """
    git_dir = _git_dir(src)
    if git_dir is None:
        raise HenhouseError(f"{src} is not a git directory or checkout: the commit cannot be checked")
    try:
        _git(git_dir, "cat-file", "-e", f"{commit}^{{commit}}")
    except HenhouseError:
        raise HenhouseError(f"commit {commit} is not in {src}") from None
    archive = _git(git_dir, "archive", "--format=tar", commit, DATASET)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / DATASET


def _names(dataset: Path) -> list[str]:
    doc = yaml.safe_load((dataset / "data.yaml").read_text())
    names = doc["names"]
    if isinstance(names, dict):
        return [str(names[k]) for k in sorted(names, key=int)]
    return [str(n) for n in names]


def read_frames(dataset: Path, dropped: Counter[str]) -> Iterator[Frame]:
    """Each labelled frame, bar masked, classes mapped onto ours by name."""
    names = _names(dataset)
    project = dataset / "project"
    images = sorted(p for p in (project / "images").iterdir() if p.suffix.lower() in IMAGE_EXT)
    if not images:
        raise HenhouseError(f"no images under {project / 'images'}")
    for path in images:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise HenhouseError(f"cannot read {path.name}")
        h, w = image.shape[:2]
        classes, boxes = [], []
        label = project / "labels" / f"{path.stem}.txt"
        rows = label.read_text().splitlines() if label.exists() else []
        for row in rows:
            parts = row.split()
            if not parts:
                continue
            name = names[int(parts[0])]
            if name != "chicken":
                dropped[name] += 1
                continue
            cx, cy, bw, bh = (float(v) for v in parts[1:5])
            classes.append(0)
            boxes.append([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
        top = player_bar_top(image)
        masked, cls, box = mask_bar(image, np.array(classes, np.int64),
                                    np.array(boxes, np.float64).reshape(-1, 4), top, dropped)
        yield Frame(path.stem, masked, cls, box, top)


# --- the split -------------------------------------------------------------------------------

def split(frames: list[Frame], adapt: int, seed: int) -> tuple[list[Frame], list[Frame]]:
    """(adaptation frames in their order, test frames by name): the first `adapt` frames with
    a chicken in a seeded shuffle of the sorted names, and all the others."""
    ordered = sorted(frames, key=lambda f: f.name)
    order = np.random.default_rng(seed).permutation(len(ordered))
    chosen: list[Frame] = []
    for i in order:
        if len(chosen) < adapt and len(ordered[i].classes):
            chosen.append(ordered[i])
    if len(chosen) < adapt:
        raise HenhouseError(f"only {len(chosen)} frames show a chicken; asked for {adapt}")
    taken = {f.name for f in chosen}
    return chosen, [f for f in ordered if f.name not in taken]


def _write(out: Path, frames: list[Frame]) -> None:
    write_data_yaml(out)
    for f in frames:
        write_example(out, f.name, f.image, f.classes, f.boxes)


def prepare(src: Path, out: Path, adapt: int = 10, seed: int = 0, commit: str = COMMIT) -> Prepared:
    """Write `out/adapt`, `out/adapt-1`, `out/adapt-5` and `out/test` from the source copy."""
    dropped: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix="henhouse-") as tmp:
        dataset = extract(src, Path(tmp), commit)
        frames = list(read_frames(dataset, dropped))
    chosen, test = split(frames, adapt, seed)
    _write(out / "adapt", chosen)
    for k in SUBSETS:
        if k < adapt:
            _write(out / f"adapt-{k}", chosen[:k])
    _write(out / "test", test)
    (out / "adapt.txt").write_text("".join(f.name + "\n" for f in chosen))
    heights = sorted(f.image.shape[0] - f.bar_top for f in frames if f.bar_top is not None)
    return Prepared(
        commit=commit,
        frames=len(frames),
        adapt=[f.name for f in chosen],
        test=[f.name for f in test],
        bar_heights=heights,
        chickens={"adapt": sum(len(f.classes) for f in chosen),
                  "test": sum(len(f.classes) for f in test)},
        dropped=dropped,
    )
