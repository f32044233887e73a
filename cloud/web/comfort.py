"""Comfort bands for the farmer's environment panel (DESIGN.md §5), by metric and flock age."""

from __future__ import annotations

from typing import Literal

Level = Literal["ok", "warn", "bad"]


def target_temperature_c(age_days: float) -> float:
    """36 °C for day-old chicks falling to 20.7 °C by about five weeks (≈1.5 kg), at 60 % RH."""
    return 36.0 - (36.0 - 20.7) * min(max(age_days, 0.0), 35.0) / 35.0


def band(metric: str, value: float, age_days: float | None = None) -> tuple[Level, float | None, float | None]:
    """(level, low, high) of the comfortable range for a reading."""
    if metric == "temperature_c":
        target = target_temperature_c(age_days if age_days is not None else 35.0)
        low, high = target - 2.0, target + 2.0
        off = max(low - value, value - high, 0.0)
        return ("ok" if off == 0 else "warn" if off <= 2.0 else "bad"), low, high
    if metric == "humidity_pct":
        level: Level = "ok" if 50 <= value <= 70 else "warn" if 40 <= value <= 80 else "bad"
        return level, 50.0, 70.0
    if metric == "nh3_ppm":
        limit = 14.0 if age_days is not None and age_days < 21 else 20.0  # NY/T 388 chicks vs adults
        return ("ok" if value <= limit else "warn" if value <= 25 else "bad"), None, limit
    if metric == "co2_ppm":
        return ("ok" if value <= 3000 else "warn" if value <= 3500 else "bad"), None, 3000.0
    return "ok", None, None
