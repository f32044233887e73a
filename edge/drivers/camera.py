"""Cameras through OpenCV VideoCapture (RTSP, HTTP MJPEG, USB index, video file) or a frame
directory of ``<event_ts_ms>.jpg`` files (the simulator's offline camera)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.drivers import DriverError

log = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]


class VideoCamera:
    """Grab the latest frame on demand; reopen after a failure."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._cap: Any = None

    def _open(self) -> Any:
        import cv2

        target: str | int = int(self.source) if self.source.isdigit() else self.source
        cap = cv2.VideoCapture(target)
        if not cap.isOpened():
            raise DriverError(f"camera {self.source!r} cannot be opened")
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # we want now, not a queue of the past
        return cap

    def grab(self, now_ms: int) -> tuple[int, Image]:
        if self._cap is None:
            self._cap = self._open()
        ok, frame = self._cap.read()
        if not ok or frame is None:
            self.close()
            raise DriverError(f"camera {self.source!r} gave no frame")
        return now_ms, frame

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
        self._cap = None


class FrameDirectory:
    """Frames named by event time; each grab returns the newest one not after `now_ms`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last_ts = -1

    def grab(self, now_ms: int) -> tuple[int, Image]:
        import cv2

        try:
            stamps = sorted(int(p.stem) for p in self.path.glob("*.jpg") if p.stem.isdigit())
        except OSError as exc:
            raise DriverError(f"frame directory {self.path}: {exc}") from None
        due = [t for t in stamps if t <= now_ms]
        if not due:
            raise DriverError(f"frame directory {self.path}: no frame at or before {now_ms}")
        ts = due[-1]
        img = cv2.imread(str(self.path / f"{ts}.jpg"), cv2.IMREAD_COLOR)
        if img is None:
            raise DriverError(f"frame {ts}.jpg is not a readable image")
        self._last_ts = ts
        return ts, np.asarray(img, dtype=np.uint8)

    def close(self) -> None:
        pass


def open_camera(source: str) -> VideoCamera | FrameDirectory:
    path = Path(source)
    if path.is_dir():
        return FrameDirectory(path)
    return VideoCamera(source)
