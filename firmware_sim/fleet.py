"""Fleet mode: many gateways' device readings from one process, tick by tick, for load tests.

One shared World holds every farm; each tick asks every gateway's devices for their readings
at the same event time. Consumers (the cloud load test) turn a GatewayTick into protocol
messages with `telemetry()` and publish them; outage flags say when a real gateway would
have been silent (power) or buffering (network).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass

from firmware_sim.clock import MS_PER_S
from firmware_sim.gateway import GatewayDevices, SimReading
from firmware_sim.scenario import Scenario
from firmware_sim.world import World
from protocol.messages import METRIC_RANGES, Metric, Reading, Telemetry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GatewayTick:
    gateway_id: str
    ts_ms: int
    powered: bool
    network_up: bool
    readings: tuple[SimReading, ...]


@dataclass(frozen=True)
class FleetTick:
    ts_ms: int
    gateways: tuple[GatewayTick, ...]

    @property
    def readings(self) -> int:
        return sum(len(g.readings) for g in self.gateways)


class Fleet:
    def __init__(self, scenario: Scenario, *, seed: int | None = None, limit: int | None = None) -> None:
        farms = scenario.all_farms()
        ids = {f.id for f in (farms[:limit] if limit is not None else farms)}
        started = time.perf_counter()
        self.world = World(scenario, seed=seed, farm_ids=ids)
        self.gateways = [GatewayDevices(self.world, farm) for farm in self.world.farms]
        log.info("fleet of %s gateways built in %.1f s", len(self.gateways), time.perf_counter() - started)

    def __len__(self) -> int:
        return len(self.gateways)

    def tick(self, ts_ms: int) -> FleetTick:
        out = []
        for gw in self.gateways:
            powered = gw.powered(ts_ms)
            readings = tuple(r for r in gw.readings(ts_ms) if r.value is not None) if powered else ()
            out.append(GatewayTick(gw.gateway_id, ts_ms, powered, gw.network_up(ts_ms), readings))
        return FleetTick(ts_ms, tuple(out))

    def ticks(self, *, interval_s: float = 60.0, count: int | None = None,
              start_ms: int | None = None, until_ms: int | None = None) -> Iterator[FleetTick]:
        """Ticks every `interval_s` of event time from the scenario start (or `start_ms`)."""
        if interval_s <= 0:
            raise ValueError(f"interval_s must be positive, got {interval_s}")
        ts = self.world.start_ms if start_ms is None else start_ms
        step = int(interval_s * MS_PER_S)
        n = 0
        while (count is None or n < count) and (until_ms is None or ts < until_ms):
            yield self.tick(ts)
            ts += step
            n += 1


def telemetry(tick: GatewayTick, seq: int, sent_at_ms: int | None = None) -> Telemetry | None:
    """The telemetry message a gateway would send for this tick (None if nothing to send)."""
    points = []
    for r in tick.readings:
        if r.value is None:
            continue
        metric = Metric(r.metric)
        low, high = METRIC_RANGES[metric]
        quality = "ok" if low <= r.value <= high else "suspect"
        points.append(Reading(ts=r.ts_ms, sensor=r.sensor, metric=metric, value=r.value,
                              house=r.house, quality=quality))
    if not points:
        return None
    return Telemetry(gateway_id=tick.gateway_id, seq=seq, sent_at=sent_at_ms or tick.ts_ms, points=points)
