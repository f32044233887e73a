"""Preparing a set of real frames (`models.realsets`) from a local copy of its repository.

`fuhuiyang models prepare-real --set NAME --src COPY --out DIR` (and its alias
`prepare-henhouse`) reads the set's folder at its checked commit from git's objects (a bare git
directory or a checkout; a plain folder is refused, its commit cannot be checked) and writes
our YOLO layout:

- a burned-in bar at the bottom (the set's `bar`) is found per frame and painted over in
  letterbox grey from its top down; boxes are cut at the bar, and a bird left with under 30 %
  of its height is dropped (the renderer's rule for hidden birds);
- classes are mapped by name through the set's table; any other is dropped and counted;
- a fixed split: in a seeded shuffle of the sorted file names, the first `adapt` frames that
  show at least one bird go to `adapt/` (what a technician would label), every other frame to
  `test/`; `adapt-1/` and `adapt-5/` are the first 1 and 5 of them, for the learning curve.
  With `choose="spread"` the adaptation frames are instead the first `adapt` the console's
  "label these first" would list (cloud.labels.suggest, from the pixels alone; a frame without
  a bird is labelled as background there, so it counts here too).
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from cloud.labels import spread, stored_signature
from models.evaluate import IMAGE_EXT, raw_names, read_labels
from models.henhouse import player_bar_top
from models.realsets import SPLITS, RealSet
from models.yolo_folder import CLASSES, class_counts, write_data_yaml, write_example

LETTERBOX_GREY = 114
MIN_SHOWING = 0.3  # a bird cut by the bar to less than this share of its height is not labelled
SUBSETS = (1, 5)  # nested adaptation subsets written beside the full one

BAR_FINDERS: dict[str, Callable[[np.ndarray], int | None]] = {
    "web-player": player_bar_top,  # a web player's control bar in screenshots (henhouse)
}


class RealSetError(RuntimeError):
    """The source is not the set's commit, or lacks its data."""


@dataclass
class Frame:
    name: str  # file stem in the source repository
    image: np.ndarray
    classes: np.ndarray  # ours
    boxes: np.ndarray  # xyxy pixels
    bar_top: int | None  # first masked row, None when no bar shows


@dataclass
class Prepared:
    set: RealSet
    commit: str
    frames: int
    adapt: list[str]
    test: list[str]
    bar_heights: list[int]
    boxes: dict[str, dict[str, int]]  # split -> our class -> boxes
    dropped: Counter[str] = field(default_factory=Counter)


# --- reading the source ----------------------------------------------------------------------

def _git(git_dir: Path, *args: str) -> bytes:
    proc = subprocess.run(["git", f"--git-dir={git_dir}", *args], capture_output=True, check=False)
    if proc.returncode != 0:
        raise RealSetError(f"git {' '.join(args[:2])} in {git_dir}: "
                           f"{proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def _git_dir(src: Path) -> Path | None:
    if (src / "objects").is_dir() and (src / "HEAD").is_file():
        return src  # bare
    if (src / ".git").exists():
        return src / ".git"
    return None


def extract(src: Path, into: Path, folder: str, commit: str) -> Path:
    """`folder` of `commit` from a git directory or checkout, written under `into`; the files
    are taken from git's objects, never from a work tree."""
    git_dir = _git_dir(src)
    if git_dir is None:
        raise RealSetError(f"{src} is not a git directory or checkout: the commit cannot be checked")
    try:
        _git(git_dir, "cat-file", "-e", f"{commit}^{{commit}}")
    except RealSetError:
        raise RealSetError(f"commit {commit} is not in {src}") from None
    archive = _git(git_dir, "archive", "--format=tar", commit, folder)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / folder


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


def read_frames(spec: RealSet, root: Path, dropped: Counter[str]) -> Iterator[Frame]:
    """Each labelled frame of the set, bar masked, classes mapped onto ours by name."""
    theirs = raw_names(root)  # the set's own names: its spec maps them
    unknown = set(spec.classes.values()) - set(CLASSES)
    if unknown:
        raise RealSetError(f"set {spec.name} maps onto classes we do not have: {sorted(unknown)}")
    ours = {i: CLASSES.index(spec.classes[n]) for i, n in enumerate(theirs) if n in spec.classes}
    find_bar = BAR_FINDERS[spec.bar] if spec.bar else None
    images = sorted(p for d in spec.image_dirs for p in (root / d).iterdir()
                    if p.suffix.lower() in IMAGE_EXT)
    if not images:
        raise RealSetError(f"no images under {', '.join(spec.image_dirs)} of {spec.root}")
    twice = [s for s, n in Counter(p.stem for p in images).items() if n > 1]
    if twice:
        raise RealSetError(f"file names repeat across {spec.image_dirs}: {twice[:3]}")
    for path in images:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise RealSetError(f"cannot read {path.name}")
        h, w = image.shape[:2]
        cls, box = read_labels(path.parent.parent / "labels" / f"{path.stem}.txt", w, h)
        keep = [i for i, c in enumerate(cls.tolist()) if c in ours]
        for c in cls.tolist():
            if c not in ours:
                dropped[theirs[c] if 0 <= c < len(theirs) else f"class {c}"] += 1
        mapped = np.array([ours[c] for c in cls[keep].tolist()], np.int64)
        top = find_bar(image) if find_bar else None
        masked, mcls, mbox = mask_bar(image, mapped, box[keep].reshape(-1, 4), top, dropped)
        yield Frame(path.stem, masked, mcls, mbox, top)


# --- the split -------------------------------------------------------------------------------

def split(frames: list[Frame], adapt: int, seed: int, choose: str = "random") -> tuple[list[Frame], list[Frame]]:
    """(adaptation frames in their order, test frames by name): the first `adapt` frames with
    a bird in a seeded shuffle of the sorted names (or the first `adapt` in the console's
    suggested order), and all the others."""
    if choose not in SPLITS:
        raise RealSetError(f"unknown choice of adaptation frames {choose!r}; known: {', '.join(SPLITS)}")
    ordered = sorted(frames, key=lambda f: f.name)
    if choose == "spread":
        if len(ordered) <= adapt:
            raise RealSetError(f"only {len(ordered)} frames; asked for {adapt} and a test split")
        # Signed from the stored bytes, as the console signs a camera's frames (lossless here).
        signed = [stored_signature(cv2.imencode(".png", f.image)[1].tobytes()) for f in ordered]
        signatures = [s for s in signed if s is not None]
        if len(signatures) < len(ordered):  # our own PNGs always decode: a bug, not bad data
            raise RealSetError("a prepared frame could not be read back")
        chosen = [ordered[i] for i in spread(signatures, count=adapt)]
    else:
        order = np.random.default_rng(seed).permutation(len(ordered))
        chosen = []
        for i in order:
            if len(chosen) < adapt and len(ordered[i].classes):
                chosen.append(ordered[i])
        if len(chosen) < adapt:
            raise RealSetError(f"only {len(chosen)} frames show a bird; asked for {adapt}")
    taken = {f.name for f in chosen}
    return chosen, [f for f in ordered if f.name not in taken]


def _write(out: Path, frames: list[Frame]) -> None:
    write_data_yaml(out)
    for f in frames:
        write_example(out, f.name, f.image, f.classes, f.boxes)


def prepare(spec: RealSet, src: Path, out: Path, adapt: int = 10, seed: int = 0,
            commit: str | None = None, choose: str = "random") -> Prepared:
    """Write `out/adapt`, `out/adapt-1`, `out/adapt-5` and `out/test` from the source copy
    (`commit` replaces the set's own only in tests)."""
    commit = commit or spec.commit
    dropped: Counter[str] = Counter()
    with tempfile.TemporaryDirectory(prefix=f"{spec.name}-") as tmp:
        root = extract(src, Path(tmp), spec.root, commit)
        frames = list(read_frames(spec, root, dropped))
    chosen, test = split(frames, adapt, seed, choose)
    for old in (out / "adapt", *(out / f"adapt-{k}" for k in SUBSETS), out / "test"):
        shutil.rmtree(old, ignore_errors=True)  # a frame left from another split would leak into test
    _write(out / "adapt", chosen)
    for k in SUBSETS:
        if k < adapt:
            _write(out / f"adapt-{k}", chosen[:k])
    _write(out / "test", test)
    (out / "adapt.txt").write_text("".join(f.name + "\n" for f in chosen))
    heights = sorted(f.image.shape[0] - f.bar_top for f in frames if f.bar_top is not None)
    return Prepared(
        set=spec,
        commit=commit,
        frames=len(frames),
        adapt=[f.name for f in chosen],
        test=[f.name for f in test],
        bar_heights=heights,
        boxes={"adapt": class_counts(f.classes for f in chosen), "test": class_counts(f.classes for f in test)},
        dropped=dropped,
    )
