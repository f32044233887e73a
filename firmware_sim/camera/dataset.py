"""Write rendered frames as a YOLO dataset: `images/`, `labels/`, `data.yaml`, and beside
them `visibility/` (how much of each labelled bird shows, one line per label line).

Every image has its own seed derived from (dataset seed, index), so a dataset is the same
whatever the number of worker processes, and image k of seed S never changes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from firmware_sim.camera.render import CLASSES, encode_jpeg
from firmware_sim.camera.scene import random_sample

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetSummary:
    out: str
    images: int
    boxes: dict[str, int]
    seed: int


def image_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def _write_one(args: tuple[Path, int, int, tuple[int, int] | None, int, str]) -> list[int]:
    out, seed, index, size, extra_dead, style = args
    img, labels, cond = random_sample(
        image_seed(seed, index), size, extra_dead=extra_dead, style=style
    )
    stem = f"{seed}_{index:06d}"
    (out / "images" / f"{stem}.jpg").write_bytes(encode_jpeg(img, cond.jpeg_quality))
    h, w = img.shape[:2]
    text = "".join(lab.yolo(w, h) + "\n" for lab in labels)
    (out / "labels" / f"{stem}.txt").write_text(text)
    # One share-showing per label line: `models eval` breaks recall down by occlusion with it.
    (out / "visibility" / f"{stem}.txt").write_text("".join(f"{lab.visible}\n" for lab in labels))
    return [lab.cls for lab in labels]


def write_data_yaml(out: Path, names: Sequence[str] = CLASSES) -> Path:
    path = out / "data.yaml"
    doc = {
        "path": str(out.resolve()),
        "train": "images",
        "val": "images",
        "names": dict(enumerate(names)),
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def write_dataset(
    out: Path,
    count: int,
    seed: int,
    *,
    sizes: Sequence[tuple[int, int]] = (),
    workers: int = 1,
    extra_dead: int = 0,
    style: str = "classic",
) -> DatasetSummary:
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    (out / "visibility").mkdir(parents=True, exist_ok=True)
    jobs = [
        (out, seed, i, sizes[i % len(sizes)] if sizes else None, extra_dead, style)
        for i in range(count)
    ]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            classes = list(pool.map(_write_one, jobs, chunksize=8))
    else:
        classes = [_write_one(j) for j in jobs]
    counts = {name: 0 for name in CLASSES}
    for per_image in classes:
        for c in per_image:
            counts[CLASSES[c]] += 1
    write_data_yaml(out)
    log.info("wrote %s images to %s: %s", count, out, counts)
    return DatasetSummary(str(out), count, counts, seed)
