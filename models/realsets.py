"""The public sets of real poultry frames the detector is measured (and adapted) on.

A set is listed only when its repository states an explicit permissive licence covering the
images and labels, and only at the commit whose files were checked: `models prepare-real`
reads that commit from a local copy and refuses any other. Nothing of a set ships with this
project. Each entry says where the YOLO data sits in the repository, how its class names map
onto ours (`chicken`, `dead`; a name not in the map is dropped and counted) and which burned-in
overlay, if any, must be painted over (`bar`: a finder in `models.real_frames.BAR_FINDERS`).

Candidates checked and rejected (no licence, images absent, non-commercial ...) are listed in
docs/detector.md, "Real camera frames", so that nobody checks them twice.

This module is only the table (no numpy, no OpenCV): the CLI reads it to offer `--set`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# How a set's adaptation frames are picked (models.real_frames.split): a seeded draw of frames
# with birds, or the console's "label these first" order.
SPLITS = ("random", "spread")


@dataclass(frozen=True)
class RealSet:
    name: str  # what `--set` takes
    repo: str  # owner/name on GitHub
    commit: str  # the commit checked; any other is refused
    licence: str  # as the repository states it, and where
    root: str  # folder of the repository holding data.yaml
    image_dirs: tuple[str, ...]  # folders under root with the images; labels in a sibling `labels/`
    classes: Mapping[str, str]  # their class name -> ours
    bar: str | None = None  # burned-in bar at the bottom of the frames, painted over
    about: str = ""


SETS: dict[str, RealSet] = {
    s.name: s
    for s in (
        RealSet(
            name="henhouse",
            repo="matitalatina/henhouse",
            commit="ed6745f2acac176a92e757af2acf0be2c218b029",
            licence="MIT (README)",
            root="yolo/dataset",
            image_dirs=("project/images",),
            classes={"chicken": "chicken"},  # `egg` is dropped
            bar="web-player",
            about="115 screenshots of one oblique backyard-coop CCTV camera, day colour and IR night",
        ),
    )
}
