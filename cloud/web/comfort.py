"""Comfort bands for the farmer's environment panel, judged as the alert engine judges them.

The levels come from the alert engine's environment thresholds (farming's published limits
unless overridden), through the same `ComfortLimits` the rules use: "ok" is a reading no
alert fires on, "warn" one that raises a warning, "bad" a critical one.
"""

from __future__ import annotations

from cloud.alerts.thresholds import DEFAULTS, EnvironmentThresholds
from farming.climate import Band, Level


def band(
    metric: str,
    value: float,
    age_days: float | None = None,
    weight_g: float | None = None,
    rh_pct: float | None = None,
    th: EnvironmentThresholds = DEFAULTS.environment,
) -> tuple[Level, float | None, float | None]:
    """(level, low, high) of the comfortable range for a reading.

    Temperature needs the birds' weight (the flock's latest mean, else its breed standard);
    without one the panel says nothing rather than guess.
    """
    comfort = th.comfort()
    judged: Band | None = None
    if metric == "temperature_c" and weight_g is not None:
        judged = comfort.temperature(value, weight_g, age_days, rh_pct)
    elif metric == "humidity_pct":
        judged = comfort.humidity(value)
    elif metric == "nh3_ppm":
        judged = comfort.nh3(value, age_days)
    elif metric == "co2_ppm":
        judged = comfort.co2(value)
    if judged is None:
        return "ok", None, None
    return judged.level, judged.low, judged.high
