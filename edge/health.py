"""Per-sensor fault flags (pure) and the heartbeat's system figures.

stuck: bit-identical values for many readings in a row (a frozen transmitter);
flatline: a signal that keeps varying below any physical change (dead element, noise only);
out_of_range: outside the physical or configured range (the reading is dropped);
missing: no good reading for three intervals.
"""

from __future__ import annotations

import os
import shutil
import time
from collections import deque
from dataclasses import dataclass, field

from protocol.messages import METRIC_RANGES, Metric, SensorState


@dataclass
class _Track:
    interval_ms: int
    cumulative: bool
    since_ms: int
    last_ok_ms: int | None = None
    values: deque[float] = field(default_factory=lambda: deque(maxlen=60))
    jumps: deque[bool] = field(default_factory=lambda: deque(maxlen=24))  # per reading: a spike?
    out_of_range: int = 0  # consecutive
    errors: int = 0


# A reading this far from the median of the previous five, and back, is a spike: far beyond what
# a house's climate does between two readings. Light and water change in steps; not judged.
SPIKE_JUMP: dict[Metric, float] = {
    Metric.TEMPERATURE_C: 6.0, Metric.HUMIDITY_PCT: 15.0, Metric.NH3_PPM: 10.0, Metric.CO2_PPM: 1000.0,
}
SPIKES_FOR_FAULT = 2  # within the last 24 readings


class SensorHealth:
    def __init__(self, stuck_after: int = 30, flatline_after: int = 60, flatline_rel: float = 1e-4) -> None:
        self.stuck_after = stuck_after
        self.flatline_after = flatline_after
        self.flatline_rel = flatline_rel
        self._tracks: dict[tuple[str, Metric], _Track] = {}

    def register(self, sensor: str, metric: Metric, interval_s: float, now_ms: int,
                 cumulative: bool = False) -> None:
        self._tracks.setdefault((sensor, metric), _Track(int(interval_s * 1000), cumulative, now_ms))

    def in_range(self, metric: Metric, value: float, lo: float | None = None, hi: float | None = None) -> bool:
        plo, phi = METRIC_RANGES[metric]
        lo = plo if lo is None else max(lo, plo)
        hi = phi if hi is None else min(hi, phi)
        return lo <= value <= hi

    def observe(self, sensor: str, metric: Metric, ts_ms: int, value: float, ok_range: bool) -> None:
        t = self._tracks[(sensor, metric)]
        jump = SPIKE_JUMP.get(metric)
        if jump is not None and len(t.values) >= 5:
            recent = sorted(list(t.values)[-5:])
            t.jumps.append(not ok_range or abs(value - recent[2]) > jump)
        if not ok_range:
            t.out_of_range += 1
            return
        t.out_of_range = 0
        t.errors = 0
        t.last_ok_ms = ts_ms
        t.values.append(value)

    def error(self, sensor: str) -> None:
        for (s, _), t in self._tracks.items():
            if s == sensor:
                t.errors += 1

    def jumped(self, sensor: str, metric: Metric) -> bool:
        """The latest reading was a spike (far from the median of the five before it)."""
        t = self._tracks.get((sensor, metric))
        return bool(t is not None and t.jumps and t.jumps[-1])

    def suspect(self, sensor: str, metric: Metric) -> bool:
        return bool({"stuck", "flatline"} & set(self._faults(self._tracks[(sensor, metric)], None)))

    def _faults(self, t: _Track, now_ms: int | None) -> list[str]:
        faults = []
        vals = list(t.values)
        if not t.cumulative and len(vals) >= self.stuck_after and len(set(vals[-self.stuck_after :])) == 1:
            faults.append("stuck")
        elif not t.cumulative and len(vals) >= self.flatline_after:
            span = max(vals) - min(vals)
            if 0 < span <= self.flatline_rel * (abs(sum(vals) / len(vals)) + 1.0):
                faults.append("flatline")
        if t.out_of_range:
            faults.append("out_of_range")
        if sum(t.jumps) >= SPIKES_FOR_FAULT:
            faults.append("spike")
        last = t.last_ok_ms if t.last_ok_ms is not None else t.since_ms
        if now_ms is not None and now_ms - last > 3 * t.interval_ms:
            faults.append("missing")
        return faults

    def states(self, now_ms: int) -> list[SensorState]:
        out = []
        for (sensor, metric), t in sorted(self._tracks.items()):
            faults = self._faults(t, now_ms)
            state = "missing" if faults == ["missing"] else ("fault" if faults else "ok")
            out.append(SensorState(sensor=sensor, metric=metric, state=state, faults=faults))
        return out


@dataclass
class SystemProbe:
    """Process and host figures for the heartbeat (psutil when present)."""

    data_dir: str
    started_mono: float = field(default_factory=time.monotonic)

    def uptime_s(self) -> float:
        return time.monotonic() - self.started_mono

    def cpu_mem(self) -> tuple[float, float]:
        try:
            import psutil
        except ImportError:
            return 0.0, 0.0
        proc = psutil.Process(os.getpid())
        return float(proc.cpu_percent(None)), proc.memory_info().rss / 2**20

    def disk_free_mb(self) -> float:
        try:
            return shutil.disk_usage(self.data_dir).free / 2**20
        except OSError:
            return 0.0
