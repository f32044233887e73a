"""House climate for broilers and local chickens: target temperature, comfort bands, heat stress.

Sources (DESIGN.md §5):
- Target temperature falls with bird weight: 36 °C for day-old chicks to 20.7 °C at >= 1.53 kg,
  at 60 % RH (interpolated here in log weight between the two points). Slow-growing birds are
  feathered long before they are heavy, so the target also falls with age, to 20.7 °C by five
  weeks; the lower of the two applies.
- NH3 <= 20 ppm (EU 2007/43/EC; China NY/T 388: ≈ 14 ppm for chicks, ≈ 21 ppm for adults);
  25 ppm harms birds. CO2 <= 3,000 ppm; > 3,500 ppm risks ascites. RH 50-70 %.
- Heat stress: THI = 0.85·Tdb + 0.15·Twb (Tao & Xin 2003) with their bands for broilers,
  °C-THI: normal below 27.7, alert from 27.7, danger from 28.9, emergency from 30.5. The
  wet-bulb temperature is Stull's (2011) empirical formula.
- One judge of "too hot" per stage: while chicks are brooded (their target plus the warning
  margin lies above the air temperature at which the THI reaches its alert band), too hot is
  the target band's call and the broiler THI bands do not apply (a day-old chick at 33 °C is
  where it should be). Once feathered, above the target the birds shed heat by panting and
  harm begins where the THI alert band begins, humidity included: the band judges only the
  cold side and heat stress judges the hot one. (Judged "too hot" against a 17-20 °C target,
  every open house in a Chongqing July stayed out of band for weeks: an alert that leads to
  no action.)

`ComfortLimits` holds every number with these defaults; the cloud's per-farm thresholds
start from it, and the alert rules and the farmer's page judge a reading with its methods,
so the page cannot call comfortable what an alert calls out of band.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Level = Literal["ok", "warn", "bad"]
"""ok: inside the band; warn: past the warning edge; bad: past the critical edge."""

THI_BANDS = (("alert", 27.7), ("danger", 28.9), ("emergency", 30.5))


def wet_bulb_stull(t_c: float, rh_pct: float) -> float:
    """Wet-bulb temperature (°C) from air temperature and RH (Stull 2011, ±0.3 °C for RH 5-99 %)."""
    rh = min(max(rh_pct, 5.0), 99.0)
    return (
        t_c * math.atan(0.151977 * math.sqrt(rh + 8.313659))
        + math.atan(t_c + rh)
        - math.atan(rh - 1.676331)
        + 0.00391838 * rh * math.sqrt(rh) * math.atan(0.023101 * rh)
        - 4.686035
    )


def thi(t_c: float, rh_pct: float) -> float:
    """Temperature-humidity index for broilers: 0.85·Tdb + 0.15·Twb (Tao & Xin 2003)."""
    return 0.85 * t_c + 0.15 * wet_bulb_stull(t_c, rh_pct)


@dataclass(frozen=True)
class Band:
    level: Level
    low: float | None  # comfortable range; None where only one side matters
    high: float | None


@dataclass(frozen=True)
class ComfortLimits:
    # (weight g, °C) points at the reference RH, log-weight interpolation between them.
    target_curve: tuple[tuple[float, float], ...] = ((42.0, 36.0), (1530.0, 20.7))
    feathered_by_day: float = 35.0
    reference_rh_pct: float = 60.0
    # Wetter air feels warmer: lower the target this much per % RH above the reference.
    rh_correction_c_per_pct: float = 0.2
    band_warning_c: float = 3.0
    band_critical_c: float = 6.0
    nh3_warning_ppm: float = 20.0
    nh3_critical_ppm: float = 25.0
    nh3_chick_warning_ppm: float = 14.0  # NY/T 388 for chicks
    chick_until_day: int = 21
    co2_warning_ppm: float = 3000.0
    co2_critical_ppm: float = 3500.0
    rh_low_pct: float = 50.0
    rh_high_pct: float = 70.0
    thi_alert: float = THI_BANDS[0][1]
    thi_danger: float = THI_BANDS[1][1]
    thi_emergency: float = THI_BANDS[2][1]

    def target_temperature_c(
        self, weight_g: float, day_age: float | None = None, rh_pct: float | None = None
    ) -> float:
        """House temperature the birds need at this weight (and age), corrected for humidity."""
        curve = self.target_curve
        w = max(weight_g, 1.0)
        if w <= curve[0][0]:
            base = curve[0][1]
        elif w >= curve[-1][0]:
            base = curve[-1][1]
        else:
            base = curve[-1][1]
            for (w0, t0), (w1, t1) in zip(curve, curve[1:], strict=False):
                if w <= w1:
                    frac = (math.log(w) - math.log(w0)) / (math.log(w1) - math.log(w0))
                    base = t0 + (t1 - t0) * frac
                    break
        if day_age is not None:
            first, last = curve[0][1], curve[-1][1]
            by_age = first - (first - last) * min(1.0, max(0.0, day_age) / self.feathered_by_day)
            base = min(base, by_age)
        rh = self.reference_rh_pct if rh_pct is None else min(max(rh_pct, 30.0), 90.0)
        return base - self.rh_correction_c_per_pct * (rh - self.reference_rh_pct)

    def brooding(self, weight_g: float, day_age: float | None = None, rh_pct: float | None = None) -> bool:
        """Chicks that still need heat: too hot is judged against their target, not the THI."""
        rh = self.reference_rh_pct if rh_pct is None else rh_pct
        edge = air_temperature_at_thi(self.thi_alert, rh)
        return self.target_temperature_c(weight_g, day_age, rh_pct) + self.band_warning_c > edge

    def temperature(
        self,
        t_c: float,
        weight_g: float,
        day_age: float | None = None,
        rh_pct: float | None = None,
    ) -> Band:
        """The target band; for feathered birds only its cold side (heat is the THI's call)."""
        target = self.target_temperature_c(weight_g, day_age, rh_pct)
        brooding = self.brooding(weight_g, day_age, rh_pct)
        off = target - t_c if not brooding else abs(t_c - target)
        level: Level = (
            "ok" if off <= self.band_warning_c else "bad" if off > self.band_critical_c else "warn"
        )
        high = target + self.band_warning_c if brooding else None
        return Band(level, target - self.band_warning_c, high)

    def nh3_warning(self, day_age: float | None) -> float:
        chick = day_age is not None and day_age < self.chick_until_day
        return self.nh3_chick_warning_ppm if chick else self.nh3_warning_ppm

    def nh3(self, ppm: float, day_age: float | None = None) -> Band:
        warn = self.nh3_warning(day_age)
        return Band(_ceiling(ppm, warn, self.nh3_critical_ppm), None, warn)

    def co2(self, ppm: float) -> Band:
        return Band(_ceiling(ppm, self.co2_warning_ppm, self.co2_critical_ppm), None, self.co2_warning_ppm)

    def humidity(self, rh_pct: float) -> Band:
        # Air too damp or too dry harms slowly: out of range is a warning, never critical.
        inside = self.rh_low_pct <= rh_pct <= self.rh_high_pct
        return Band("ok" if inside else "warn", self.rh_low_pct, self.rh_high_pct)

    def heat(self, t_c: float, rh_pct: float) -> tuple[str, float | None]:
        """(THI band name, its lower edge): normal (no edge), alert, danger or emergency."""
        index = thi(t_c, rh_pct)
        name, edge = "normal", None
        for band, limit in (
            ("alert", self.thi_alert),
            ("danger", self.thi_danger),
            ("emergency", self.thi_emergency),
        ):
            if index >= limit:
                name, edge = band, limit
        return name, edge


def _ceiling(value: float, warn: float, crit: float) -> Level:
    return "ok" if value <= warn else "bad" if value > crit else "warn"


DEFAULT_LIMITS = ComfortLimits()


def air_temperature_at_thi(index: float, rh_pct: float) -> float:
    """Dry-bulb °C at which the THI reaches `index` at this RH (THI rises with temperature)."""
    lo, hi = -20.0, 60.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if thi(mid, rh_pct) < index:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)
