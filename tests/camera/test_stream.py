"""A house that lives over event time, served as MJPEG and as a frame directory."""

from __future__ import annotations

import threading
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from firmware_sim.camera.cctv import render_cctv
from firmware_sim.camera.lens import osd
from firmware_sim.camera.scene import Frame, HouseScene
from firmware_sim.camera.stream import CameraServer, FrameSource, write_frame_dir

T0 = 1_767_225_600_000  # 2026-01-01T00:00Z


def _positions(scene: HouseScene) -> np.ndarray:
    return np.array([[b.u, b.v] for b in scene.birds])


def test_dead_birds_stay_still_healthy_birds_move_sick_birds_move_less() -> None:
    scene = HouseScene(4, n_birds=40, size=(320, 240))
    scene.kill(0)
    for i in range(1, 11):
        scene.sicken(i)
    start = _positions(scene)
    for _ in range(60):
        scene.advance(10.0)
    moved = np.linalg.norm(_positions(scene) - start, axis=1)
    assert moved[0] == 0.0 and scene.birds[0].dead
    assert np.median(moved[11:]) > 2 * np.median(moved[1:11])
    assert np.median(moved[11:]) > 0.1  # metres in ten minutes


def test_same_seed_same_frames() -> None:
    a, b = HouseScene(9, n_birds=10, size=(320, 240)), HouseScene(9, n_birds=10, size=(320, 240))
    for s in (a, b):
        s.kill(2)
        s.advance(30.0)
    fa, fb = a.frame(T0), b.frame(T0)
    assert np.array_equal(fa.rgb, fb.rgb) and fa.labels == fb.labels
    assert any(lab.cls == 1 and lab.bird == 2 for lab in fa.labels)


def test_frame_directory_has_event_time_names_and_labels(tmp_path: Path) -> None:
    source = FrameSource(
        HouseScene(1, n_birds=8, size=(320, 240)),
        T0,
        60_000,
        lights_on=lambda ts: ts < T0 + 120_000,
    )
    frames = write_frame_dir(source, tmp_path, 3)
    names = sorted(p.name for p in tmp_path.glob("*.jpg"))
    assert names == [f"{T0 + k * 60_000}.jpg" for k in (1, 2, 3)]
    assert [f.lights_on for f in frames] == [True, False, False]
    night = cv2.imread(str(tmp_path / names[-1]))
    assert night is not None and night.shape == (240, 320, 3)
    assert (
        float(np.abs(night[..., 0].astype(int) - night[..., 2]).mean()) < 3
    )  # IR grey (JPEG noise)


def test_mjpeg_stream_and_snapshot_are_readable() -> None:
    source = FrameSource(HouseScene(2, n_birds=6, size=(320, 240)), T0, 1000)
    server = CameraServer(source).start()
    stop = threading.Event()

    def pump() -> None:
        while not stop.is_set():
            source.tick()
            stop.wait(0.05)

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    try:
        cap = cv2.VideoCapture(f"{server.url}/stream.mjpg")
        ok, img = cap.read()
        ok2, img2 = cap.read()
        cap.release()
        assert ok and ok2 and img.shape == (240, 320, 3)
        with urllib.request.urlopen(f"{server.url}/snapshot.jpg", timeout=10) as resp:
            assert resp.headers["Content-Type"] == "image/jpeg"
            snap = cv2.imdecode(np.frombuffer(resp.read(), np.uint8), cv2.IMREAD_COLOR)
        assert snap is not None and snap.shape == (240, 320, 3)
    finally:
        stop.set()
        t.join(timeout=5)
        server.stop()


def _dead_box(frame: Frame, bird: int) -> tuple[float, ...]:
    [box] = [(lab.x0, lab.y0, lab.x1, lab.y1) for lab in frame.labels if lab.bird == bird and lab.cls == 1]
    return box


def test_a_cctv_house_keeps_its_camera_and_its_carcass_from_frame_to_frame() -> None:
    a, b = (HouseScene(5, n_birds=40, size=(640, 360), style="cctv") for _ in range(2))
    first = a.frame(T0)
    seen = sorted({lab.bird for lab in first.labels})
    assert a.camera == b.camera and seen
    for scene in (a, b):
        scene.kill(seen[0])
    before = a.frame(T0)
    for scene in (a, b):
        scene.advance(600.0)
    after, twin = a.frame(T0 + 600_000), b.frame(T0 + 600_000)
    assert np.array_equal(after.rgb, twin.rgb)  # deterministic per seed
    # The carcass is drawn the same way in every frame, so its box stays put for the tracker;
    # the live birds around it have moved.
    assert _dead_box(before, seen[0]) == _dead_box(after, seen[0])
    live = {lab.bird: (lab.x0, lab.y0) for lab in before.labels if lab.cls == 0}
    assert any(live.get(lab.bird) not in (None, (lab.x0, lab.y0)) for lab in after.labels)
    night = a.frame(T0 + 660_000, lights_on=False).rgb.astype(int)
    assert float(np.abs(night[..., 0] - night[..., 2]).mean()) < 3  # IR grey


def test_a_living_camera_draws_each_bird_the_same_in_every_frame() -> None:
    scene = HouseScene(5, n_birds=40, size=(640, 360), style="cctv")
    assert scene.camera is not None
    a, b = (render_cctv(scene.view, scene.birds, np.random.default_rng(k), False, light=scene.camera.light)
            for k in (1, 2))
    assert np.array_equal(a[0], b[0]) and a[2] == b[2]


def test_osd_outline_hugs_its_text() -> None:
    # OpenCV 5 spaces a thicker stroke wider: an outline drawn as a thicker copy of the text
    # came out as a second, shifted timestamp. Every dark pixel must border the white text.
    img = np.full((720, 1280, 3), 128, np.uint8)
    osd(img, np.random.default_rng(3), datetime(2026, 12, 5, 14, 30, tzinfo=UTC))
    grey = img.mean(axis=2)
    white, dark = grey > 200, grey < 40
    assert white.sum() > 500 and dark.sum() > 300
    far_from_text = cv2.distanceTransform((~white).astype(np.uint8), cv2.DIST_L2, 3)
    assert far_from_text[dark].max() <= 3.0


def test_camera_command_writes_cctv_frames(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from firmware_sim.camera.cli import camera

    result = CliRunner().invoke(camera, ["--style", "cctv", "--birds", "20", "--size", "640x360",
                                         "--count", "2", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert len(list(tmp_path.glob("*.jpg"))) == 2
