"""One farm gateway's simulated devices: transmitters, water meter, scale, RTC, outages.

Built over a World (its own, or a shared one for fleets) and asked for readings at event
times; it steps the world forward as time passes. The servers in devices_server.py and
the fleet driver are thin shells over this.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from firmware_sim.clock import MS_PER_DAY, MS_PER_HOUR
from firmware_sim.events import EventSpec
from firmware_sim.scale import ScaleParams, ScaleSignal, Visit
from firmware_sim.scenario import Scenario
from firmware_sim.sensors import (
    RTC_UNIT,
    DeviceSpec,
    FaultState,
    encode_registers,
    encode_rtc,
    house_devices,
    measured,
    true_value,
)
from firmware_sim.world import FarmSim, HouseSim, World, stream_rng

log = logging.getLogger(__name__)
OUTAGE_TYPES = ("gateway_power_loss", "network_outage", "camera_blackout")


@dataclass(frozen=True)
class SimReading:
    ts_ms: int
    house: str
    sensor: str  # e.g. "h1-th"
    unit: int
    metric: str
    value: float | None  # None: the transmitter did not answer


class GatewayDevices:
    def __init__(self, world: World, farm: FarmSim) -> None:
        self.world = world
        self.farm = farm
        self.gateway_id = farm.farm.gateway
        self.rng = stream_rng(world.seed, "sensors", farm.farm.id)
        events = world.events_for(farm)
        self.faults: list[tuple[int, EventSpec]] = [(i, e) for i, e in events if e.type == "sensor_fault"]
        self.outages: list[EventSpec] = [e for _, e in events if e.type in OUTAGE_TYPES]
        self.devices: dict[int, tuple[HouseSim, DeviceSpec]] = {}
        for k, house in enumerate(farm.houses):
            for dev in house_devices(k):
                self.devices[dev.unit] = (house, dev)
        self._fault_state: dict[int, FaultState] = {u: FaultState.empty() for u in self.devices}
        self._scale: ScaleSignal | None = None

    @classmethod
    def standalone(cls, scenario: Scenario, gateway_or_farm: str, *, seed: int | None = None) -> GatewayDevices:
        """A world holding just this one farm (same history as in the full region)."""
        farm = next((f for f in scenario.all_farms() if gateway_or_farm in (f.gateway, f.id)), None)
        if farm is None:
            raise ValueError(f"scenario {scenario.name} has no gateway or farm {gateway_or_farm!r}")
        world = World(scenario, seed=seed, farm_ids={farm.id})
        return cls(world, world.farms[0])

    # -- time ------------------------------------------------------------------------------
    def ensure(self, ts_ms: int) -> None:
        """Step the (possibly shared) world until the day holding `ts_ms` is simulated."""
        if ts_ms < self.world.now_ms:
            return
        # The camera renders on a worker thread while the servers answer on the event loop.
        with self.world.lock:
            while ts_ms >= self.world.now_ms:
                self.world.step_day()

    def _t_day(self, ts_ms: int) -> float:
        return (ts_ms - self.world.start_ms) / MS_PER_DAY

    def _active(self, kind: str, ts_ms: int) -> bool:
        t = self._t_day(ts_ms)
        return any(e.type == kind and e.active(t) for e in self.outages)

    def powered(self, ts_ms: int) -> bool:
        return not self._active("gateway_power_loss", ts_ms)

    def network_up(self, ts_ms: int) -> bool:
        return not self._active("network_outage", ts_ms)

    def camera_ok(self, ts_ms: int) -> bool:
        return not self._active("camera_blackout", ts_ms) and self.powered(ts_ms)

    # -- transmitters ----------------------------------------------------------------------
    def _values(self, house: HouseSim, dev: DeviceSpec, ts_ms: int) -> dict[str, float] | None:
        self.ensure(ts_ms)
        day = house.today
        if day is None or not (day.start_ms <= ts_ms < day.start_ms + MS_PER_DAY) or not self.powered(ts_ms):
            return None  # house empty (transmitters unpowered) or the gateway is down
        out: dict[str, float] = {}
        for metric in dev.metrics:
            truth = true_value(day, metric, ts_ms, house.water_before_l)
            value = measured(metric, truth, ts_ms, self.rng, self.faults, self.world.start_ms,
                             self._fault_state[dev.unit])
            if value is None:
                return None
            out[metric] = value
        return out

    def readings(self, ts_ms: int) -> list[SimReading]:
        result = []
        for unit, (house, dev) in self.devices.items():
            values = self._values(house, dev, ts_ms)
            for metric in dev.metrics:
                result.append(SimReading(ts_ms, house.model.id, f"{house.model.id}-{dev.kind}", unit,
                                         metric, None if values is None else values[metric]))
        return result

    def registers(self, unit: int, ts_ms: int) -> list[int] | None:
        """Holding registers of `unit` at `ts_ms`; None means the device does not answer."""
        if unit == RTC_UNIT:
            return encode_rtc(ts_ms)
        if unit not in self.devices:
            return None
        house, dev = self.devices[unit]
        values = self._values(house, dev, ts_ms)
        return None if values is None else encode_registers(dev.kind, values)

    # -- scale -----------------------------------------------------------------------------
    def scale_house(self) -> HouseSim | None:
        return next((h for h in self.farm.houses if h.model.scale), None)

    def scale_ready(self, ts_ms: int) -> bool:
        """Whether the scale has a flock under it at `ts_ms` (no stream before placement)."""
        house = self.scale_house()
        if house is None:
            return False
        self.ensure(ts_ms)
        return house.flock is not None

    def scale_chunk(self, start_ms: int, n: int, hz: float = 10.0,
                    params: ScaleParams | None = None) -> tuple[np.ndarray, np.ndarray, list[Visit]]:
        """The next `n` samples of the scale stream; the first call fixes its start and rate."""
        house = self.scale_house()
        if house is None:
            raise ValueError(f"gateway {self.gateway_id} has no scale")
        if self._scale is None:
            self.ensure(start_ms)
            if house.flock is None:
                raise ValueError(f"gateway {self.gateway_id}: no flock placed yet for the scale")
            placed_ms = self.world.start_ms + house.model.flock.placed_day * MS_PER_DAY
            self._scale = ScaleSignal(
                house.flock, stream_rng(self.world.seed, "scale", self.farm.farm.id),
                placed_ms=placed_ms, start_ms=start_ms, hz=hz, params=params,
                programme=house.programme, house_temp_c=lambda ts: self._house_temp(house, ts),
            )
        end_ms = self._scale.next_sample_ms + int(n * 1000 / self._scale.hz)
        self.ensure(end_ms)
        return self._scale.next_chunk(n)

    def _house_temp(self, house: HouseSim, ts: np.ndarray) -> np.ndarray:
        day = house.today
        if day is None:
            return np.full(ts.shape, 20.0)
        t_h = (ts - day.start_ms) / MS_PER_HOUR
        return np.asarray(np.interp(t_h, np.arange(24) + 0.5, day.temp_c))

