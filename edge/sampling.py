"""Sensor sampling: poll each device on its own interval, turn counters into deltas, flag faults.

Drivers are passed in (any object with ``read() -> list[(Metric, float)]``), so the agent
reads a simulator through the same Modbus driver as a real transmitter.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from edge.config import ModbusSensor
from edge.drivers import DriverError
from edge.health import SensorHealth
from protocol.messages import Metric, Reading

log = logging.getLogger(__name__)


class SensorDriver(Protocol):
    def read(self) -> list[tuple[Metric, float]]: ...


@dataclass
class _Polled:
    settings: ModbusSensor
    driver: SensorDriver
    next_ms: int
    failing: bool = False


class Sampler:
    def __init__(self, health: SensorHealth, on_reading: Callable[[Reading], None]) -> None:
        self.health = health
        self.on_reading = on_reading
        self._sensors: dict[str, _Polled] = {}
        self._last_counter: dict[tuple[str, Metric], float] = {}
        self.errors = 0
        self.dropped = 0

    def configure(self, sensors: list[ModbusSensor], drivers: dict[str, SensorDriver], now_ms: int) -> None:
        """(Re)build the poll list; a sensor whose settings did not change keeps its schedule."""
        new: dict[str, _Polled] = {}
        for s in sensors:
            old = self._sensors.get(s.id)
            if old is not None and old.settings == s:
                new[s.id] = old
            else:
                new[s.id] = _Polled(s, drivers[s.id], now_ms)
            for reg in s.registers:
                self.health.register(s.id, reg.metric, s.interval_s, now_ms, reg.cumulative)
        self._sensors = new

    def poll(self, now_ms: int) -> int:
        """Read every due sensor once; returns how many were read."""
        done = 0
        for p in self._sensors.values():
            if now_ms < p.next_ms:
                continue
            p.next_ms = max(p.next_ms + int(p.settings.interval_s * 1000), now_ms + 1)
            done += 1
            try:
                values = p.driver.read()
            except DriverError as exc:
                self.errors += 1
                self.health.error(p.settings.id)
                if not p.failing:
                    log.warning("sensor %s: %s", p.settings.id, exc)
                p.failing = True
                continue
            if p.failing:
                log.warning("sensor %s answers again", p.settings.id)
            p.failing = False
            self._emit(p.settings, values, now_ms)
        return done

    def _emit(self, s: ModbusSensor, values: list[tuple[Metric, float]], now_ms: int) -> None:
        for reg, (metric, value) in zip(s.registers, values, strict=True):
            if reg.cumulative:
                key = (s.id, metric)
                prev = self._last_counter.get(key)
                self._last_counter[key] = value
                if prev is None or value < prev:  # first read or counter reset: no interval yet
                    continue
                value = value - prev
            ok = self.health.in_range(metric, value, reg.min, reg.max)
            self.health.observe(s.id, metric, now_ms, value, ok)
            if not ok:
                self.dropped += 1
                continue
            quality = "suspect" if self.health.suspect(s.id, metric) else "ok"
            self.on_reading(Reading(ts=now_ms, sensor=s.id, metric=metric, value=round(value, 4),
                                    house=s.house, quality=quality))
