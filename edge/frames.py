"""Frame selection: what to capture, what to skip, and how big each JPEG may be.

Scheduled captures while the lights are on, plus scene-change triggers at any time; dark,
blank and frozen frames are skipped (and make the camera "blind"). Resolution and JPEG
quality step down a ladder so the day's uploads fit the daily budget; a frame that cannot
fit even at the bottom rung is dropped and counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

import cv2
import numpy as np
import numpy.typing as npt

from edge.agent import CapturedFrame
from edge.config import CameraSettings
from edge.drivers import DriverError
from edge.weighing.summary import local_date

log = logging.getLogger(__name__)

Image = npt.NDArray[np.uint8]
MS_PER_H = 3_600_000

# (max width, JPEG quality), best first.
LADDER: tuple[tuple[int, int], ...] = (
    (1280, 80), (1280, 65), (960, 65), (960, 50), (640, 55), (640, 40), (480, 40), (320, 35),
)


class Grabber(Protocol):
    def grab(self, now_ms: int) -> tuple[int, Image]: ...


@dataclass
class FrameStats:
    captured: int = 0
    queued: int = 0
    bytes_queued: int = 0
    dropped_budget: int = 0
    bytes_dropped: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    by_trigger: dict[str, int] = field(default_factory=dict)


def thumbnail(img: Image) -> npt.NDArray[np.float32]:
    grey = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY) if img.ndim == 3 else img
    return cv2.resize(grey, (64, 48), interpolation=cv2.INTER_AREA).astype(np.float32)


def classify(thumb: npt.NDArray[np.float32], previous: npt.NDArray[np.float32] | None) -> str | None:
    """Why a frame is useless (dark, blank, frozen), or None when it is worth looking at."""
    if float(thumb.mean()) < 25.0:
        return "dark"
    if float(thumb.std()) < 4.0:
        return "blank"
    if previous is not None and float(np.abs(thumb - previous).mean()) < 0.3:
        return "frozen"  # identical pixels: a hung encoder repeats its last frame
    return None


def encode_to_fit(img: Image, target_bytes: int, start: int, ladder: tuple[tuple[int, int], ...] = LADDER,
                  max_width: int = 1280, max_quality: int = 95) -> tuple[bytes, int, int, int] | None:
    """First rung at or after `start` whose JPEG fits; (jpeg, width, height, rung) or None."""
    for rung in range(start, len(ladder)):
        width, quality = ladder[rung]
        width = min(width, max_width, img.shape[1])
        quality = min(quality, max_quality)
        scaled = img if width == img.shape[1] else cv2.resize(
            img, (width, max(1, round(img.shape[0] * width / img.shape[1]))), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", scaled, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok and len(buf) <= target_bytes:
            return buf.tobytes(), scaled.shape[1], scaled.shape[0], rung
    return None


class CameraChannel:
    def __init__(self, settings: CameraSettings, grabber: Grabber, utc_offset_h: float) -> None:
        self.settings = settings
        self.camera_id = settings.id
        self.grabber = grabber
        self.utc_offset_h = utc_offset_h
        self.stats = FrameStats()
        self._next_check = 0
        self._next_scheduled = 0
        self._last_thumb: npt.NDArray[np.float32] | None = None
        self._last_sent_thumb: npt.NDArray[np.float32] | None = None
        self._state = "ok"
        self._last_grab_ts = -1
        self._day: object = None
        self._spent = 0
        self._rung = 0
        self._credit = 0

    @classmethod
    def from_settings(cls, settings: CameraSettings, utc_offset_h: float) -> CameraChannel:
        from edge.drivers.camera import open_camera

        return cls(settings, open_camera(settings.source), utc_offset_h)

    def state(self) -> str:
        return self._state

    def close(self) -> None:
        close = getattr(self.grabber, "close", None)
        if callable(close):
            close()

    def _lights_on(self, now_ms: int) -> bool:
        hour = ((now_ms / MS_PER_H) + self.utc_offset_h) % 24
        on, off = self.settings.lights_on_h
        return on <= hour < off if on <= off else (hour >= on or hour < off)

    def _remaining_captures(self, now_ms: int) -> float:
        """Scheduled captures still to come today, plus room for scene changes."""
        hour = ((now_ms / MS_PER_H) + self.utc_offset_h) % 24
        on, off = self.settings.lights_on_h
        lit_h = max(0.0, off - max(hour, on)) if on <= off else 24.0 - hour
        return 1.0 + 1.25 * lit_h * 3600 / self.settings.interval_s

    def poll(self, now_ms: int) -> list[CapturedFrame]:
        if now_ms < self._next_check:
            return []
        self._next_check = now_ms + int(self.settings.check_s * 1000)
        try:
            ts, img = self.grabber.grab(now_ms)
        except DriverError as exc:
            if self._state != "missing":
                log.warning("camera %s: %s", self.camera_id, exc)
            self._state = "missing"
            return []
        if ts == self._last_grab_ts:
            return []  # a frame directory with nothing newer yet
        self._last_grab_ts = ts
        thumb = thumbnail(img)
        useless = classify(thumb, self._last_thumb)
        self._last_thumb = thumb
        lit = self._lights_on(ts)
        if useless is not None:
            self.stats.skipped[useless] = self.stats.skipped.get(useless, 0) + 1
            # Dark at night is normal; dark, blank or frozen with the lights on is a blind camera.
            self._state = "blind" if (lit or useless != "dark") else "ok"
            return []
        self._state = "ok"
        trigger = None
        if lit and ts >= self._next_scheduled:
            trigger = "scheduled"
        elif self._last_sent_thumb is not None and \
                float(np.abs(thumb - self._last_sent_thumb).mean()) >= self.settings.scene_change:
            trigger = "scene_change"
        if trigger is None:
            return []
        self.stats.captured += 1
        frame = self._fit(ts, img, trigger)
        if frame is None:
            return []
        self._last_sent_thumb = thumb
        if trigger == "scheduled":
            self._next_scheduled = ts + int(self.settings.interval_s * 1000)
        return [frame]

    def _fit(self, ts: int, img: Image, trigger: str) -> CapturedFrame | None:
        day = local_date(ts, self.utc_offset_h)
        if day != self._day:
            self._day, self._spent, self._rung, self._credit = day, 0, 0, 0
        budget = int(self.settings.budget_mb_per_day * 2**20)
        remaining = budget - self._spent
        target = int(remaining / self._remaining_captures(ts))
        self._credit = min(self._credit + target, remaining)
        start = max(0, self._rung - 1)  # try one rung better than last time, then step down
        width, quality = self.settings.max_width, self.settings.jpeg_quality
        fitted = encode_to_fit(img, min(target, remaining), start, max_width=width, max_quality=quality)
        if fitted is None:
            # Even the bottom rung is over one capture's share: send one now and then, when
            # the allowance saved from skipped captures covers it, so the day is still sampled.
            fitted = encode_to_fit(img, self._credit, len(LADDER) - 1, max_width=width, max_quality=quality)
        if fitted is None:
            self.stats.dropped_budget += 1
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 35])
            self.stats.bytes_dropped += len(buf) if ok else 0
            log.info("camera %s: frame dropped, daily budget %s MB spent", self.camera_id,
                     self.settings.budget_mb_per_day)
            return None
        jpeg, width, height, self._rung = fitted
        self._spent += len(jpeg)
        self._credit = max(0, self._credit - len(jpeg))
        self.stats.queued += 1
        self.stats.bytes_queued += len(jpeg)
        self.stats.by_trigger[trigger] = self.stats.by_trigger.get(trigger, 0) + 1
        return CapturedFrame(ts, self.camera_id, self.settings.house, width, height, jpeg, trigger)
