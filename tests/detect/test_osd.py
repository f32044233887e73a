"""Burned-in text found on a camera's frames (cloud.detect.osd): the clock and the camera's name
of rendered wall cameras, and nothing on what merely stays put in a house."""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from cloud.detect.osd import MIN_FRAMES, text_zones
from cloud.detect.zones import inside_share
from firmware_sim.camera.scene import HouseScene

T0 = 1_782_000_000_000
DAY_MS = 86_400_000


def wall_camera_frames(seed: int, count: int = 8, osd: bool = True, size: tuple[int, int] = (640, 360)
                       ) -> tuple[list[np.ndarray], np.ndarray]:
    """A wall camera's frames over three days, day and IR night, birds moving between them; and
    the boxes of the text burned into each (its name and its clock)."""
    scene = HouseScene(seed, n_birds=25, size=size, style="cctv")
    assert scene.camera is not None
    scene.camera = dataclasses.replace(scene.camera, osd=osd)
    frames, text = [], []
    for k in range(count):
        ts = T0 + k * 3 * DAY_MS // count + k * 617_000
        scene.advance(900)
        frame = scene.frame(ts, lights_on=k % 4 != 3)
        frames.append(cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR))
        text += scene.osd_boxes(ts)
    return frames, np.array(text, np.float64).reshape(-1, 4)


@pytest.mark.parametrize("seed", [2, 3, 8, 11])
def test_a_wall_cameras_clock_and_name_are_found_in_every_frame(seed: int) -> None:
    frames, text = wall_camera_frames(seed)
    found = np.array(text_zones(frames)).reshape(-1, 4)
    assert len(found) == 2  # one line each
    assert (inside_share(text, found) >= 0.9).all()  # every frame's clock, whatever its digits
    assert (inside_share(found, text) >= 0.4).all()  # ...and not much more than the text


@functools.cache
def house_without_text() -> tuple[np.ndarray, ...]:
    frames, _ = wall_camera_frames(2, osd=False, size=(1280, 720))
    return tuple(frames)


# How NVRs burn text in: (scale at 720 px, stroke px, black outline, opacity, on a dark box), and
# the share of the clock's line found. Bold or half-transparent white without an outline is found
# only in part where its changing digits are simple ones (1, 7): a technician drags the rest.
STYLES = {
    "thin, outlined": ((0.8, 1, True, 1.0, False), 0.9),
    "bold, outlined": ((1.0, 3, True, 1.0, False), 0.9),
    "bold, no outline": ((1.0, 3, False, 1.0, False), 0.5),
    "thin, no outline": ((0.8, 1, False, 1.0, False), 0.9),
    "half transparent": ((1.0, 2, False, 0.7, False), 0.5),
    "on a dark box": ((0.9, 2, False, 1.0, True), 0.9),
    "small": ((0.5, 1, True, 1.0, False), 0.9),
}


@pytest.mark.parametrize("style", STYLES)
def test_text_burned_in_as_nvrs_do_is_found(style: str) -> None:
    (scale, stroke, outline, opacity, boxed), clock_found = STYLES[style]
    frames, lines = [], np.zeros((2, 4))
    for k, image in enumerate(house_without_text()):
        ink = np.zeros(image.shape[:2], np.uint8)
        clock = f"2026/12/{k + 1:02d} {(7 * k) % 24:02d}:{(13 * k) % 60:02d}:{(17 * k) % 60:02d}"
        for text, at in ((clock, (25, 43)), ("CH01 House-3", (960, 684))):
            cv2.putText(ink, text, at, cv2.FONT_HERSHEY_SIMPLEX, scale, 255, stroke, cv2.LINE_AA)
        out = image.astype(np.float32)
        for i, (x0, x1) in enumerate(((0, 640), (640, 1280))):
            ys, xs = np.nonzero(ink[:, x0:x1])
            box = (xs.min() + x0, ys.min(), xs.max() + x0 + 1, ys.max() + 1)
            lines[i] = np.minimum(lines[i], box) if k else box
            lines[i, 2:] = np.maximum(lines[i, 2:], box[2:])
            if boxed:
                out[box[1] - 4 : box[3] + 4, box[0] - 4 : box[2] + 4] *= 0.5
        if outline:
            out *= 1 - cv2.dilate(ink, np.ones((3, 3), np.uint8))[..., None] / 255
        alpha = opacity * ink[..., None] / 255
        frames.append(np.clip(out * (1 - alpha) + 255 * alpha, 0, 255).astype(np.uint8))
    found = np.array(text_zones(frames)).reshape(-1, 4)
    assert len(found) == 2
    clock, name = inside_share(lines, found)
    assert name >= 0.9 and clock >= clock_found


def test_the_same_camera_without_text_gets_no_proposal() -> None:
    frames, text = wall_camera_frames(2, osd=False)
    assert len(text) == 0
    assert text_zones(frames) == []


def test_too_few_frames_to_tell_what_stays() -> None:
    frames, _ = wall_camera_frames(2, count=MIN_FRAMES - 1)
    assert text_zones(frames) == []
    assert text_zones([]) == []


def test_what_stays_but_is_not_a_line_of_letters_is_not_text() -> None:
    # A pole, a thin bright pipe, wire mesh and a lamp stay put; birds (bright blobs) move; the
    # light changes. Only the line of letters drawn into every frame is proposed.
    rng = np.random.default_rng(0)
    frames = []
    for k in range(8):
        img = np.clip(rng.normal(90 + 10 * k, 12, (360, 640)), 0, 255).astype(np.uint8)
        cv2.line(img, (300, 40), (300, 330), 250, 3)  # pole
        cv2.line(img, (20, 120), (620, 126), 245, 2)  # pipe across the house
        for x in range(400, 520, 8):  # mesh
            cv2.line(img, (x, 150), (x, 250), 230, 1)
        for y in range(150, 250, 8):
            cv2.line(img, (400, y), (520, y), 230, 1)
        cv2.circle(img, (100, 300), 14, 255, -1)  # lamp
        for _ in range(12):
            x, y = int(rng.integers(20, 620)), int(rng.integers(140, 340))
            cv2.ellipse(img, (x, y), (16, 10), float(rng.uniform(0, 180)), 0, 360, 240, -1)
        frames.append(img)
    assert text_zones(frames) == []
    text = np.zeros((360, 640), np.uint8)
    cv2.putText(text, "CAM 07 Layer House", (20, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.55, 255, 1, cv2.LINE_AA)
    ys, xs = np.nonzero(text)
    ink = np.array([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]], np.float64)
    found = text_zones([np.maximum(img, text) for img in frames])
    assert len(found) == 1
    assert inside_share(ink, np.array(found))[0] >= 0.9 and inside_share(np.array(found), ink)[0] >= 0.5


def test_eval_osd_counts_lines_found_and_false_proposals(tmp_path: Path) -> None:
    from models import osd_eval
    from models.cli import models

    out = osd_eval.rendered(cameras=3, frames=8, seed=7, size=(640, 360))
    assert out["cameras_with_text"] == 2 and out["text_lines"] == 4
    assert out["lines_found"] == 4 and out["false_proposals"] == 0
    assert out["cameras_without_text_given_a_proposal"] == 0

    # A real camera's folder: frames of one size are one view; a proposal there is counted.
    frames, text = wall_camera_frames(3)
    for k, image in enumerate(frames):
        cv2.imwrite(str(tmp_path / f"f{k}.jpg"), image)
    cv2.imwrite(str(tmp_path / "other-size.jpg"), cv2.resize(frames[0], (320, 180)))
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    result = CliRunner().invoke(models, ["eval-osd", "--data", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert (got["frames"], got["unreadable"], got["views"], got["frames_in_views"]) == (9, 1, 1, 8)
    assert got["proposals"] == 2
    assert (inside_share(text, np.array(got["boxes"])) >= 0.9).all()
