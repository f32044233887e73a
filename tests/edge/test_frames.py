from __future__ import annotations

import functools
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from edge.config import CameraSettings
from edge.drivers import DriverError
from edge.drivers.camera import FrameDirectory
from edge.frames import CameraChannel, classify, thumbnail

# 2026-06-01 00:00 +08:00
MIDNIGHT = int(datetime(2026, 5, 31, 16, tzinfo=UTC).timestamp() * 1000)
H = 3_600_000


@functools.cache
def scene(seed: int, w: int = 1280, h: int = 720) -> np.ndarray:
    """A well-lit 'house' image: coarse layout plus fine texture, different per seed."""
    rng = np.random.default_rng(seed)
    img = cv2.resize(rng.integers(60, 220, (9, 16, 3), dtype=np.uint8), (w, h), interpolation=cv2.INTER_CUBIC)
    return img + rng.integers(0, 30, (h, w, 3), dtype=np.uint8)


class Scripted:
    def __init__(self, images: dict[int, np.ndarray] | None = None, default: int = 0) -> None:
        self.images = images or {}
        self.calls = 0

    def grab(self, now_ms: int) -> tuple[int, np.ndarray]:
        self.calls += 1
        return now_ms, scene(self.calls % 8)


def test_dark_blank_and_frozen_frames_are_recognised() -> None:
    lit = thumbnail(scene(1))
    assert classify(lit, None) is None
    assert classify(thumbnail(np.full((480, 640, 3), 8, np.uint8)), None) == "dark"
    assert classify(thumbnail(np.full((480, 640, 3), 128, np.uint8)), None) == "blank"
    assert classify(lit, lit.copy()) == "frozen"


def test_scheduled_frames_fit_a_tight_daily_budget() -> None:
    settings = CameraSettings(source="x", interval_s=900, check_s=900, budget_mb_per_day=1.0,
                              lights_on_h=(5.0, 22.0))
    cam = CameraChannel(settings, Scripted(), utc_offset_h=8.0)
    frames = []
    for t in range(MIDNIGHT, MIDNIGHT + 24 * H, 900_000):
        frames += cam.poll(t)
    total = sum(len(f.jpeg) for f in frames)
    assert total <= 1.0 * 2**20
    scheduled = [f for f in frames if f.trigger == "scheduled"]
    assert len(scheduled) >= 17 * 4 * 0.9  # every 15 minutes while lit, nearly all kept
    assert min(f.width for f in frames) < 1280  # it had to step down the ladder
    assert cam.stats.bytes_queued == total


def test_a_generous_budget_keeps_full_resolution() -> None:
    settings = CameraSettings(source="x", interval_s=600, check_s=600, budget_mb_per_day=60.0)
    cam = CameraChannel(settings, Scripted(), utc_offset_h=8.0)
    frames = [f for t in range(MIDNIGHT + 6 * H, MIDNIGHT + 8 * H, 600_000) for f in cam.poll(t)]
    assert frames and all(f.width == 1280 for f in frames)


def test_scene_change_triggers_at_night_and_dark_at_night_is_not_blind(tmp_path: Path) -> None:
    settings = CameraSettings(source=str(tmp_path), interval_s=300, check_s=10, lights_on_h=(5.0, 22.0))
    night = MIDNIGHT + 23 * H
    cv2.imwrite(str(tmp_path / f"{night - 5000}.jpg"), scene(1))
    cam = CameraChannel(settings, FrameDirectory(tmp_path), utc_offset_h=8.0)
    cam._last_sent_thumb = thumbnail(scene(1))  # what was sent before dusk
    assert cam.poll(night) == []  # same scene: nothing to send
    cv2.imwrite(str(tmp_path / f"{night + 5000}.jpg"), scene(2))
    got = cam.poll(night + 10_000)
    assert [f.trigger for f in got] == ["scene_change"]
    cv2.imwrite(str(tmp_path / f"{night + 15000}.jpg"), np.full((720, 1280, 3), 5, np.uint8))
    assert cam.poll(night + 20_000) == [] and cam.state() == "ok"
    assert cam.stats.skipped == {"dark": 1}


def test_missing_camera_is_reported_not_fatal(tmp_path: Path) -> None:
    cam = CameraChannel(CameraSettings(source=str(tmp_path)), FrameDirectory(tmp_path), 8.0)
    assert cam.poll(MIDNIGHT) == []
    assert cam.state() == "missing"
    try:
        FrameDirectory(tmp_path).grab(MIDNIGHT)
    except DriverError as exc:
        assert "no frame" in str(exc)
