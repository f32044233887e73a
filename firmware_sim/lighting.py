"""Light in the house: a broiler lighting programme or natural daylight, in local time.

Farms are in China (UTC+8, no daylight saving); event times stay UTC epoch ms.
"""

from __future__ import annotations

import math

import numpy as np

LOCAL_UTC_OFFSET_H = 8.0
CHONGQING_LAT = 29.6


def local_hour(ts_ms: np.ndarray | int) -> np.ndarray:
    return (np.asarray(ts_ms, dtype=np.int64) / 3_600_000.0 + LOCAL_UTC_OFFSET_H) % 24.0


def day_length_h(day_of_year: int, lat_deg: float = CHONGQING_LAT) -> float:
    decl = -23.44 * math.cos(2 * math.pi * (day_of_year + 10) / 365.0)
    x = -math.tan(math.radians(lat_deg)) * math.tan(math.radians(decl))
    return 24.0 * math.acos(max(-1.0, min(1.0, x))) / math.pi


def broiler_dark_hours(day_age: float) -> float:
    """23L:1D for the first week, then 18L:6D (EU 2007/43/EC asks for ≥ 6 h dark)."""
    return 1.0 if day_age < 7 else 6.0


def lights_on(
    hour: np.ndarray | float,
    *,
    day_age: float,
    day_of_year: int,
    programme: str,
    lat_deg: float = CHONGQING_LAT,
) -> np.ndarray:
    """Boolean per local hour. `programme` is "broiler" (lit house) or "natural" (daylight)."""
    h = np.asarray(hour, dtype=float) % 24.0
    if programme == "broiler":
        dark = broiler_dark_hours(day_age)
        # Dark period centred on 01:00 local.
        start = (1.0 - dark / 2.0) % 24.0
        in_dark = ((h - start) % 24.0) < dark
        return np.asarray(~in_dark)
    if programme == "natural":
        length = day_length_h(day_of_year, lat_deg)
        return np.asarray(np.abs(h - 12.3) < length / 2.0)
    raise ValueError(f"unknown light programme {programme!r} (broiler or natural)")


def light_lux(
    hour: np.ndarray | float,
    *,
    day_age: float,
    day_of_year: int,
    programme: str,
    cloud: float = 0.3,
) -> np.ndarray:
    """Illuminance at bird height: lamps ~20-40 lux; open houses follow the sun, shaded."""
    h = np.asarray(hour, dtype=float) % 24.0
    on = lights_on(h, day_age=day_age, day_of_year=day_of_year, programme=programme)
    if programme == "broiler":
        lamp = 40.0 if day_age < 7 else 20.0
        return np.where(on, lamp, 0.2)
    length = day_length_h(day_of_year)
    phase = np.clip(1.0 - np.abs(h - 12.3) / (length / 2.0), 0.0, 1.0)
    return np.where(on, 2.0 + 800.0 * (1.0 - 0.7 * cloud) * np.sin(phase * math.pi / 2), 0.1)
