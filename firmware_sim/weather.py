"""Outside weather by region and season: daily anomalies plus a diurnal cycle.

Climatology for Chongqing (municipal normals, lowland ~250 m): hot humid summers with daily
maxima of 33-35 °C and heat waves near 40 °C, mild damp winters. Hill counties are cooler by
the lapse rate. Pure: the Generator is passed in, one day at a time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

LAPSE_C_PER_M = 0.006


@dataclass(frozen=True)
class Climatology:
    name: str
    ref_elevation_m: float
    mean_c: tuple[float, ...]  # monthly mean air temperature, Jan..Dec
    range_c: tuple[float, ...]  # mean daily max - min
    rh_pct: tuple[float, ...]  # monthly mean relative humidity
    anomaly_sd_c: float = 2.0
    anomaly_phi: float = 0.7  # day-to-day persistence


CLIMATES: dict[str, Climatology] = {
    "chongqing": Climatology(
        "chongqing", 260.0,
        mean_c=(7.8, 10.2, 14.2, 19.0, 22.9, 25.6, 28.5, 28.7, 24.2, 18.8, 14.0, 9.4),
        range_c=(4.5, 5.5, 7.0, 7.5, 7.5, 7.0, 8.0, 8.5, 7.0, 5.5, 5.0, 4.5),
        rh_pct=(82, 78, 75, 76, 76, 80, 75, 73, 78, 83, 83, 83),
    ),
    # North China plain, for contrast in tests and scenarios: cold dry winters.
    "hebei": Climatology(
        "hebei", 80.0,
        mean_c=(-3.0, 0.5, 7.5, 15.0, 21.0, 25.5, 27.0, 25.8, 21.0, 14.0, 5.5, -1.0),
        range_c=(10.0, 10.5, 11.5, 12.5, 12.0, 11.0, 8.5, 8.5, 10.0, 11.0, 10.5, 10.0),
        rh_pct=(50, 50, 48, 48, 55, 62, 76, 80, 72, 64, 60, 55),
    ),
}


def get_climate(name: str) -> Climatology:
    try:
        return CLIMATES[name]
    except KeyError:
        raise ValueError(f"unknown climate {name!r}; known: {', '.join(sorted(CLIMATES))}") from None


def _monthly(values: tuple[float, ...], day: date) -> float:
    """Smooth through mid-month values so there is no step at month ends."""
    doy = day.timetuple().tm_yday
    x = (doy - 15.0) / 365.0 * 12.0
    i = int(math.floor(x)) % 12
    f = x - math.floor(x)
    return values[i] * (1 - f) + values[(i + 1) % 12] * f


@dataclass(frozen=True)
class DayWeather:
    day: date
    mean_c: float
    range_c: float
    dewpoint_c: float
    cloud: float  # 0 clear .. 1 overcast
    heat_delta_c: float = 0.0  # added by heat-wave events (already in mean_c)

    def temp_c(self, local_hour: np.ndarray | float) -> np.ndarray:
        """Minimum near 06:00, maximum near 15:00 local."""
        h = np.asarray(local_hour, dtype=float)
        return self.mean_c + self.range_c / 2.0 * np.cos((h - 15.0) / 24.0 * 2.0 * np.pi)

    def rh_pct(self, local_hour: np.ndarray | float) -> np.ndarray:
        return relative_humidity(self.temp_c(local_hour), self.dewpoint_c)


class OutsideWeather:
    """Day-by-day weather for one place; heat waves are added by the caller per day."""

    def __init__(self, climate: Climatology, elevation_m: float, rng: np.random.Generator) -> None:
        self.climate = climate
        self.offset_c = -LAPSE_C_PER_M * (elevation_m - climate.ref_elevation_m)
        self.rng = rng
        self._anomaly = float(rng.normal(0.0, climate.anomaly_sd_c))

    def next_day(self, day: date, heat_delta_c: float = 0.0) -> DayWeather:
        c, rng = self.climate, self.rng
        phi = c.anomaly_phi
        self._anomaly = phi * self._anomaly + rng.normal(0.0, c.anomaly_sd_c * math.sqrt(1 - phi**2))
        cloud = float(np.clip(rng.beta(2.0, 2.0) - 0.1 * self._anomaly / c.anomaly_sd_c, 0.0, 1.0))
        mean = _monthly(c.mean_c, day) + self.offset_c + self._anomaly + heat_delta_c
        # Clear days swing more; heat waves are sunny and dry-ish.
        rng_c = max(1.0, _monthly(c.range_c, day) * (1.3 - 0.6 * cloud) + 0.3 * heat_delta_c)
        rh = _monthly(c.rh_pct, day) + 8.0 * (cloud - 0.5) - 2.0 * heat_delta_c
        dew = dewpoint_c(mean, float(np.clip(rh, 25.0, 98.0)))
        return DayWeather(day, mean, rng_c, dew, cloud, heat_delta_c)


# -- psychrometrics (wet-bulb and THI are farming's: farming/climate.py) -------------------
def saturation_kpa(t_c: np.ndarray | float) -> np.ndarray:
    t = np.asarray(t_c, dtype=float)
    return 0.61078 * np.exp(17.27 * t / (t + 237.3))


def relative_humidity(t_c: np.ndarray | float, dew_c: float) -> np.ndarray:
    return np.asarray(np.clip(100.0 * saturation_kpa(dew_c) / saturation_kpa(t_c), 1.0, 100.0), dtype=float)


def dewpoint_c(t_c: float, rh_pct: float) -> float:
    a = math.log(max(rh_pct, 1.0) / 100.0) + 17.27 * t_c / (t_c + 237.3)
    return 237.3 * a / (17.27 - a)


def humidity_ratio(t_c: np.ndarray | float, rh_pct: np.ndarray | float, p_kpa: float = 98.0) -> np.ndarray:
    pv = saturation_kpa(t_c) * np.asarray(rh_pct, dtype=float) / 100.0
    return np.asarray(0.622 * pv / (p_kpa - pv), dtype=float)


def rh_from_ratio(t_c: np.ndarray | float, x: np.ndarray | float, p_kpa: float = 98.0) -> np.ndarray:
    xa = np.asarray(x, dtype=float)
    pv = p_kpa * xa / (0.622 + xa)
    return np.asarray(np.clip(100.0 * pv / saturation_kpa(t_c), 1.0, 100.0), dtype=float)


# -- scalar versions for the hourly house loop (numpy on single floats is ~10x slower) --------
def saturation_kpa_f(t_c: float) -> float:
    return 0.61078 * math.exp(17.27 * t_c / (t_c + 237.3))


def humidity_ratio_f(t_c: float, rh_pct: float, p_kpa: float = 98.0) -> float:
    pv = saturation_kpa_f(t_c) * rh_pct / 100.0
    return 0.622 * pv / (p_kpa - pv)


def rh_from_ratio_f(t_c: float, x: float, p_kpa: float = 98.0) -> float:
    pv = p_kpa * x / (0.622 + x)
    return min(100.0, max(1.0, 100.0 * pv / saturation_kpa_f(t_c)))
