"""A house that lives over event time, served as MJPEG and as a frame directory."""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path

import cv2
import numpy as np

from firmware_sim.camera.scene import HouseScene
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
