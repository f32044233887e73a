"""How well burned-in text is found (`cloud.detect.osd`): on rendered wall cameras, where the
text's boxes are known, and on a folder of real frames of one camera, where every proposal on a
set without OSD is a false one.

A camera's frames are taken over three days, one in four at IR night, its birds moving between
them, and pass through the gateway's JPEG, as the console reads a camera's stored frames.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from cloud.detect import TEXT_MIN_FRAMES, inside_share, text_zones
from firmware_sim.camera.render import as_stored
from firmware_sim.camera.scene import HouseScene
from models.adapt import unlabelled_images

T0 = 1_782_000_000_000
SPAN_MS = 3 * 86_400_000
COVERED = 0.9  # a line of text is found when every frame's box of it lies this much inside proposals
ON_TEXT = 0.3  # a proposal with less of its area on text is a false one


def rendered(cameras: int, frames: int, seed: int, size: tuple[int, int]) -> dict[str, Any]:
    """Proposals against the known text of `cameras` rendered `cctv` wall cameras."""
    rng = np.random.default_rng(seed)
    lines = found = false = 0
    with_text = without_text_proposed = 0
    for _ in range(cameras):
        scene = HouseScene(int(rng.integers(2**31)), n_birds=int(rng.integers(20, 41)), size=size, style="cctv")
        images, per_line = [], defaultdict(list)  # text line (by its first box) -> its box in each frame
        for k in range(frames):
            ts = T0 + k * SPAN_MS // frames + int(rng.integers(3_600_000))
            scene.advance(600)
            frame = scene.frame(ts, lights_on=k % 4 != 3)
            images.append(as_stored(frame.rgb, frame.jpeg_quality, cv2.IMREAD_GRAYSCALE))
            for i, box in enumerate(scene.osd_boxes(ts)):
                per_line[i].append(box)
        proposals = np.array(text_zones(images), np.float64).reshape(-1, 4)
        text = np.array([b for boxes in per_line.values() for b in boxes], np.float64).reshape(-1, 4)
        with_text += bool(per_line)
        without_text_proposed += not per_line and len(proposals) > 0
        lines += len(per_line)
        found += sum(bool((inside_share(np.array(boxes, np.float64), proposals) >= COVERED).all())
                     for boxes in per_line.values())
        false += int((inside_share(proposals, text) < ON_TEXT).sum()) if len(text) else len(proposals)
    return {"cameras": cameras, "frames_per_camera": frames, "seed": seed, "size": list(size),
            "cameras_with_text": with_text, "text_lines": lines, "lines_found": found,
            "false_proposals": false, "cameras_without_text_given_a_proposal": without_text_proposed}


def folder(data: Path) -> dict[str, Any]:
    """Proposals on a folder of real frames of one camera (or its `images/`): frames of one size
    are taken as one view (hand-cropped screenshots differ in size); smaller groups are skipped."""
    groups: dict[tuple[int, ...], list[np.ndarray]] = defaultdict(list)
    unreadable = 0
    for path in unlabelled_images(data, skip=set()):
        grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if grey is None:
            unreadable += 1
            continue
        groups[grey.shape].append(grey)
    views = [g for g in groups.values() if len(g) >= TEXT_MIN_FRAMES]
    proposals = [text_zones(g) for g in views]
    return {"data": str(data), "frames": sum(len(g) for g in groups.values()), "unreadable": unreadable,
            "views": len(views), "frames_in_views": sum(len(g) for g in views),
            "proposals": sum(len(p) for p in proposals),
            "boxes": [[round(v, 1) for v in box] for p in proposals for box in p]}

