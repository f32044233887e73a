"""Simulated RS485 transmitters: what each one reads at a moment, faults included, as registers.

Register maps follow common Chinese RS485 transmitters (firmware_sim/DEVICES.md §2): RH ×10
at 0 and temperature ×10 at 1 (int16); NH3 ppm ×10 at 2; CO2 ppm at 2; lux as uint32 at 6-7;
the water meter's cumulative litres ×10 as uint32 at 0-1. Pure functions of the hour-by-hour
truth plus a Generator for the measurement noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from firmware_sim.clock import MS_PER_DAY, MS_PER_HOUR
from firmware_sim.events import EventSpec
from firmware_sim.world import HouseDay

UNIT_STRIDE = 10  # house k (0-based) uses unit ids 1+10k .. 5+10k
RTC_UNIT = 250
RTC_REGISTERS = 4
REGISTERS_PER_UNIT = 8


@dataclass(frozen=True)
class DeviceSpec:
    kind: str  # th | nh3 | co2 | light | water
    unit: int
    metrics: tuple[str, ...]


def house_devices(house_index: int) -> list[DeviceSpec]:
    base = UNIT_STRIDE * house_index
    return [
        DeviceSpec("th", base + 1, ("humidity_pct", "temperature_c")),
        DeviceSpec("nh3", base + 2, ("nh3_ppm",)),
        DeviceSpec("co2", base + 3, ("co2_ppm",)),
        DeviceSpec("light", base + 4, ("light_lux",)),
        DeviceSpec("water", base + 5, ("water_l",)),
    ]


# Measurement noise (1 SD) and resolution of typical cheap transmitters.
NOISE = {"temperature_c": 0.15, "humidity_pct": 1.2, "nh3_ppm": 0.6, "co2_ppm": 30.0, "light_lux": 0.5}


def true_value(day: HouseDay, metric: str, ts_ms: int, water_before_l: float) -> float:
    """The physical quantity at `ts_ms` (hourly truth, linearly interpolated)."""
    t_h = (ts_ms - day.start_ms) / MS_PER_HOUR
    t_h = min(max(t_h, 0.0), 24.0 - 1e-9)
    if metric == "water_l":  # cumulative: whole hours drawn plus part of this one
        h = int(t_h)
        return water_before_l + float(day.water_l[:h].sum() + day.water_l[h] * (t_h - h))
    series = {"temperature_c": day.temp_c, "humidity_pct": day.rh_pct, "nh3_ppm": day.nh3_ppm,
              "co2_ppm": day.co2_ppm, "light_lux": day.lux}[metric]
    # Hourly values sit at the middle of their hour; plain float arithmetic is much faster
    # than np.interp for one point, and fleets ask millions of times.
    x = min(max(t_h - 0.5, 0.0), 23.0)
    i = min(int(x), 22)
    f = x - i
    return float(series[i]) * (1.0 - f) + float(series[i + 1]) * f


@dataclass
class FaultState:
    """What a faulty transmitter shows; `stuck_at` is captured at onset."""

    stuck_at: dict[str, float]

    @classmethod
    def empty(cls) -> FaultState:
        return cls({})


def measured(
    metric: str,
    truth: float,
    ts_ms: int,
    rng: np.random.Generator,
    faults: list[tuple[int, EventSpec]],
    scenario_start_ms: int,
    state: FaultState,
) -> float | None:
    """Reading a transmitter returns: noisy truth, bent by any active fault. None = no answer."""
    value = truth + (rng.normal(0.0, NOISE[metric]) if metric in NOISE else 0.0)
    t_day = (ts_ms - scenario_start_ms) / MS_PER_DAY
    for key, ev in faults:
        if ev.sensor != metric or not ev.active(t_day):
            continue
        since_d = t_day - ev.start_day
        if ev.mode == "dropout":
            return None
        if ev.mode == "stuck":
            value = state.stuck_at.setdefault(str(key), value)
        elif ev.mode == "drift":
            # electrochemical NH3 cells and cheap RH sensors creep: a few % of span a day
            value += DRIFT_PER_DAY.get(metric, 0.0) * ev.severity * since_d
        elif ev.mode == "spikes":
            if rng.random() < 0.15:
                value += rng.choice([-1.0, 1.0]) * SPIKE.get(metric, 10.0) * rng.uniform(1, 3)
        elif ev.mode == "out_of_range":
            return OUT_OF_RANGE.get(metric, 6553.5)
    return max(value, 0.0) if metric != "temperature_c" else value


DRIFT_PER_DAY = {"nh3_ppm": 2.0, "humidity_pct": 1.5, "temperature_c": 0.4, "co2_ppm": 80.0}
SPIKE = {"nh3_ppm": 20.0, "humidity_pct": 25.0, "temperature_c": 15.0, "co2_ppm": 2000.0,
         "light_lux": 500.0}
# What a broken probe typically reports: open-circuit thermistors read -40 or 0x7FFF/10.
OUT_OF_RANGE = {"temperature_c": -3276.8, "humidity_pct": 6553.5, "nh3_ppm": 6553.5,
                "co2_ppm": 65535.0, "light_lux": 4294967.0}


def encode_registers(kind: str, values: dict[str, float]) -> list[int]:
    """REGISTERS_PER_UNIT uint16 words for a device kind (big-endian words, high first)."""
    regs = [0] * REGISTERS_PER_UNIT
    if kind == "th":
        regs[0] = _u16(values["humidity_pct"] * 10)
        regs[1] = _i16(values["temperature_c"] * 10)
    elif kind == "nh3":
        regs[2] = _u16(values["nh3_ppm"] * 10)
    elif kind == "co2":
        regs[2] = _u16(values["co2_ppm"])
    elif kind == "light":
        regs[6], regs[7] = _u32(values["light_lux"])
    elif kind == "water":
        regs[0], regs[1] = _u32(values["water_l"] * 10)
    else:
        raise ValueError(f"unknown device kind {kind!r}")
    return regs


def encode_rtc(ts_ms: int) -> list[int]:
    v = int(ts_ms) & (2**64 - 1)
    return [(v >> shift) & 0xFFFF for shift in (48, 32, 16, 0)]


def decode_rtc(regs: Sequence[int]) -> int:
    return (regs[0] << 48) | (regs[1] << 32) | (regs[2] << 16) | regs[3]


def _u16(x: float) -> int:
    return int(min(max(round(x), 0), 0xFFFF))


def _i16(x: float) -> int:
    return int(min(max(round(x), -0x8000), 0x7FFF)) & 0xFFFF


def _u32(x: float) -> tuple[int, int]:
    v = int(min(max(round(x), 0), 0xFFFFFFFF))
    return (v >> 16) & 0xFFFF, v & 0xFFFF
