"""The gateway camera follows the world: birds die in view as the flock dies; blackouts are black."""

from __future__ import annotations

import pytest

pytest.importorskip("cv2")

from firmware_sim.camera.render import CLASS_ID  # noqa: E402
from firmware_sim.camera_feed import WorldFrameSource  # noqa: E402
from firmware_sim.clock import MS_PER_HOUR  # noqa: E402
from firmware_sim.events import EventSpec  # noqa: E402
from firmware_sim.gateway import GatewayDevices  # noqa: E402
from tests.sim.test_world import small  # noqa: E402


def test_dead_birds_appear_as_the_flock_dies_and_blackout_is_black() -> None:
    events = (EventSpec(type="hpai", farms=("A",), start_day=1, severity=2.0),
              EventSpec(type="camera_blackout", farms=("A",), start_day=2.5, hours=6))
    gw = GatewayDevices.standalone(small(events, birds=300), "gw-A")
    src = WorldFrameSource(gw, gw.world.start_ms + 10 * MS_PER_HOUR, 6 * MS_PER_HOUR, size=(320, 240))
    dead_labels = []
    black = []
    for _ in range(16):  # four days, four frames a day
        frame = src.tick()
        dead_labels.append(sum(1 for lab in frame.labels if lab.cls == CLASS_ID["dead"]))
        black.append(float(frame.rgb.mean()) < 1.0)
    assert dead_labels[0] == 0
    assert max(dead_labels) >= 3 and src.killed >= 3
    assert any(black) and not all(black)
    blackout_frames = [i for i, b in enumerate(black) if b]
    assert all(dead_labels[i] == 0 for i in blackout_frames)  # nothing to label in the dark
    assert len(src.scene.birds) == 40  # a camera sees part of a 300-bird house
    sick = [b for b in src.scene.birds if not b.dead and b.activity <= 0.15]
    assert sick  # HPAI leaves the survivors in view lethargic
