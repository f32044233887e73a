"""A farm's label set as a YOLO folder or zip: images/, labels/, data.yaml naming its classes.

The same layout `fuhuiyang models eval --data` and `models adapt --data` read (classes matched
by name). A frame whose JPEG the store cannot give back is skipped and counted.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from cloud import frames_store
from cloud.labels.boxes import CLASSES, yolo_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class YoloItem:
    stem: str
    jpeg: bytes
    labels: str  # the label file's text (empty for background)


def data_yaml(path: str | None = None) -> str:
    """data.yaml; without `path` a trainer takes the folder the file is in."""
    head = f"path: {path}\n" if path else ""
    names = "".join(f"  {i}: {name}\n" for i, name in enumerate(CLASSES))
    return f"{head}train: images\nval: images\nnames:\n{names}"


def _stored_image(read_jpeg: Callable[[str], bytes], path: str, name: str,
                  decode: int = cv2.IMREAD_COLOR) -> tuple[bytes, np.ndarray] | None:
    """A frame's stored bytes and their decoded image (`decode`: OpenCV's read flag); None
    (logged) when the store cannot give them or they are not an image."""
    try:
        data = read_jpeg(path)
    except (OSError, ValueError) as exc:
        log.warning("frame %s unreadable (%s): left out", name, exc)
        return None
    image = frames_store.decode(data, decode)
    if image is None:
        log.warning("frame %s is not an image: left out", name)
        return None
    return data, image


def _stem(gateway_id: str, camera_id: str, seq: int, ts: Any) -> str:
    return f"{gateway_id}_{camera_id}_{seq}_{int(ts.timestamp() * 1000)}"


def items(frames: Iterable[dict[str, Any]], read_jpeg: Callable[[str], bytes],
          counts: dict[str, int]) -> Iterator[YoloItem]:
    """One item per readable frame of `cloud.labels.store.label_set`; counts images, boxes, skips."""
    for f in frames:
        stored = _stored_image(read_jpeg, f["path"], f"{f['gateway_id']}/{f['frame_seq']}")
        if stored is None:
            counts["skipped"] += 1
            continue
        data, image = stored
        rows = yolo_rows(f["boxes"], image.shape[1], image.shape[0])
        counts["images"] += 1
        for row in rows:
            counts[CLASSES[int(row.split()[0])]] += 1
        yield YoloItem(_stem(f["gateway_id"], f["camera_id"], f["frame_seq"], f["ts"]), data,
                       "".join(r + "\n" for r in rows))


def _counts() -> dict[str, int]:
    return {"images": 0, "skipped": 0, **{name: 0 for name in CLASSES}}


def write_folder(frames: Iterable[dict[str, Any]], read_jpeg: Callable[[str], bytes], out: Path) -> dict[str, int]:
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "labels").mkdir(parents=True, exist_ok=True)
    counts = _counts()
    for item in items(frames, read_jpeg, counts):
        (out / "images" / f"{item.stem}.jpg").write_bytes(item.jpeg)
        (out / "labels" / f"{item.stem}.txt").write_text(item.labels)
    (out / "data.yaml").write_text(data_yaml(str(out.resolve())))
    return counts


def write_unlabelled(frames: Iterable[dict[str, Any]], read_jpeg: Callable[[str], bytes], out: Path
                     ) -> dict[str, int]:
    """The stored images of unlabelled frames (`cloud.labels.store.unlabelled_frames`) into `out`,
    for `models adapt --unlabelled`; frames the store cannot give, or that are not images, are
    left out and counted."""
    out.mkdir(parents=True, exist_ok=True)
    counts = {"images": 0, "skipped": 0}
    for f in frames:
        # Only checked, not used: an eighth-size grey decode proves it is an image.
        stored = _stored_image(read_jpeg, f["path"], f"{f['gateway_id']}/{f['seq']}", cv2.IMREAD_REDUCED_GRAYSCALE_8)
        if stored is None:
            counts["skipped"] += 1
            continue
        (out / f"{_stem(f['gateway_id'], f['camera_id'], f['seq'], f['ts'])}.jpg").write_bytes(stored[0])
        counts["images"] += 1
    return counts


def zip_bytes(frames: Iterable[dict[str, Any]], read_jpeg: Callable[[str], bytes]) -> tuple[bytes, dict[str, int]]:
    buffer = io.BytesIO()
    counts = _counts()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for item in items(frames, read_jpeg, counts):
            z.writestr(f"images/{item.stem}.jpg", item.jpeg, compress_type=zipfile.ZIP_STORED)
            z.writestr(f"labels/{item.stem}.txt", item.labels)
        z.writestr("data.yaml", data_yaml())
    return buffer.getvalue(), counts
