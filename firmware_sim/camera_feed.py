"""A gateway's house camera driven by the world: the camera renderer's scene, kept in step.

Birds in view die when the flock's truth says birds die (in proportion), lights follow the
house, and during a camera blackout or power loss the picture is black. Rendering belongs to
firmware_sim.camera; this module only decides what the scene should show.
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np

from firmware_sim.camera.plumage import BROILER, LOCAL
from firmware_sim.camera.render import encode_jpeg
from firmware_sim.camera.scene import Frame, HouseScene
from firmware_sim.camera.stream import FrameSource
from firmware_sim.clock import MS_PER_DAY, Clock
from firmware_sim.gateway import GatewayDevices
from firmware_sim.world import stream_rng

log = logging.getLogger(__name__)
MAX_IN_VIEW = 40
SICK_ACTIVITY = 0.15
ADULT_G = {"broiler": 3000.0, "local": 1800.0}


class WorldFrameSource(FrameSource):
    """A FrameSource whose scene is created and updated from a GatewayDevices."""

    def __init__(self, gateway: GatewayDevices, start_ms: int, interval_ms: int,
                 size: tuple[int, int] = (640, 480)) -> None:
        self.gateway = gateway
        self.size = size
        self.house = gateway.scale_house() or gateway.farm.houses[0]
        self.rng = stream_rng(gateway.world.seed, "camera", gateway.farm.farm.id)
        self.killed = 0
        # Where each dead bird was last seen (its visible box), by the bird's own seed: what
        # a detector's reports are checked against.
        self.carcasses: dict[int, tuple[float, float, float, float]] = {}
        super().__init__(self._blank_scene(), start_ms, interval_ms, lights_on=self._lights_on)
        self._live = False

    def _blank_scene(self) -> HouseScene:
        return HouseScene(int(self.rng.integers(2**31)), n_birds=1, size=self.size)

    def _lights_on(self, ts_ms: int) -> bool:
        day = self.house.today
        if day is None:
            return True
        h = int(((ts_ms - day.start_ms) // 3_600_000) % 24)
        return bool(day.lux[h] > 5.0)

    def _sync(self, ts_ms: int) -> None:
        """Create the flock in view once birds are there; kill birds as the flock loses them."""
        self.gateway.ensure(ts_ms)
        flock, day = self.house.flock, self.house.today
        if flock is None or day is None:
            return
        if not self._live:
            breed = flock.breed
            n = int(min(MAX_IN_VIEW, max(3, flock.birds_alive)))
            maturity = float(np.clip(flock.mean_weight_g() / ADULT_G[breed.kind], 0.15, 1.0))
            plumages = BROILER if breed.kind == "broiler" else LOCAL
            self.scene = HouseScene(int(self.rng.integers(2**31)), n_birds=n, size=self.size,
                                    plumages=plumages, maturity=maturity)
            self._live = True
        alive_start = day.birds_alive + day.deaths
        if alive_start <= 0:
            return
        # Each bird in view shares the flock's daily risk, spread over the day's ticks.
        p = day.deaths / alive_start * self.interval_ms / MS_PER_DAY
        for i, bird in enumerate(self.scene.birds):
            if not bird.dead and self.rng.random() < p:
                self.scene.kill(i)
                self.killed += 1
        # Sick birds in view as the flock's share of visibly ill birds (they move little).
        living = [i for i, b in enumerate(self.scene.birds) if not b.dead]
        want_sick = round(day.sick_share * len(living))
        sick = [i for i in living if self.scene.birds[i].activity <= SICK_ACTIVITY]
        for i in living:
            if len(sick) >= want_sick:
                break
            if i not in sick:
                self.scene.sicken(i, SICK_ACTIVITY)
                sick.append(i)
        if day.birds_alive == 0:  # sold or all dead: only carcasses stay until cleaned out
            self.scene.birds = [b for b in self.scene.birds if b.dead]

    def tick(self) -> Frame:
        ts = self.ts_ms + self.interval_ms
        self._sync(ts)
        if self.gateway.camera_ok(ts):
            frame = super().tick()
            for lab in frame.labels:
                if lab.cls == 1:
                    self.carcasses[self.scene.birds[lab.bird].seed] = (lab.x0, lab.y0, lab.x1, lab.y1)
            return frame
        # Blackout or no power: the stream carries black frames, nothing to label.
        self.ts_ms = ts
        w, h = self.size
        frame = Frame(ts, np.zeros((h, w, 3), dtype=np.uint8), [], False, 60)
        jpeg = encode_jpeg(frame.rgb, frame.jpeg_quality)
        with self._cond:
            self._frame, self._jpeg = frame, jpeg
            self._cond.notify_all()
        return frame


async def run_camera(source: WorldFrameSource, clock: Clock) -> None:
    """Render a frame each `interval` of event time; when rendering falls behind, skip ahead
    rather than queue old frames (a live camera shows now, not a backlog)."""
    loop = asyncio.get_running_loop()
    while True:
        now = clock.now_ms()
        if now >= source.ts_ms + source.interval_ms:
            if now - source.ts_ms > 3 * source.interval_ms:
                source.ts_ms = now - source.interval_ms
            await loop.run_in_executor(None, source.tick)
        else:
            await asyncio.sleep(0.05)
