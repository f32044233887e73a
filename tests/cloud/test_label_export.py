"""The label set's YOLO export leaves out, and counts, frames the store gives back broken."""

from __future__ import annotations

from datetime import UTC, datetime

import cv2
import numpy as np

from cloud.labels import zip_bytes
from cloud.labels.boxes import make_box


def test_empty_and_broken_images_are_skipped_not_fatal() -> None:
    good = cv2.imencode(".jpg", np.full((48, 64, 3), 128, np.uint8))[1].tobytes()
    store = {"good": good, "empty": b"", "junk": b"\xff\xd8\xff not really"}
    frames = [{"gateway_id": "gw", "camera_id": "cam1", "frame_seq": seq, "path": path,
               "ts": datetime(2026, 12, 5, tzinfo=UTC), "boxes": [make_box("chicken", [4, 4, 20, 20])]}
              for seq, path in enumerate(store)]
    data, counts = zip_bytes(frames, store.__getitem__)
    assert counts == {"images": 1, "skipped": 2, "chicken": 1, "dead": 0}
    assert data[:2] == b"PK"
