"""Rule thresholds: typed, with defaults from DESIGN.md §5, overridable per breed, farm and house.

Farming numbers (comfort bands, water and growth norms) come from `farming`, their one owner.

Overrides are partial nested dicts layered default < breed < farm < house, so a farm can
change one number without restating the rest. A typo in a key is an error, not a silent no-op.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from farming import growth, water
from farming.climate import DEFAULT_LIMITS as _COMFORT
from farming.climate import ComfortLimits


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MortalityThresholds(_Section):
    small_flock_max_birds: int = 100  # GeflPestSchV §4: flocks up to 100 birds
    small_flock_deaths_24h: int = 3  # ... >= 3 dead in 24 h
    # ... "more than 2 %" in 24 h above that; we alert at 2 % itself, so a one-day loss of
    # 2 % is never missed to rounding (3 of 150 birds is exactly 2 %).
    large_flock_pct_24h: float = 2.0
    consecutive_pct: float = 0.5  # Netherlands: >= 0.5 %/day on 2 consecutive days
    consecutive_days: int = 2
    consecutive_min_deaths: int = 3  # one bird in a flock of 200 is 0.5 %: not a signal
    ratio_to_last_week: float = 2.9  # Gonzales & Elbers 2018
    ratio_min_deaths: int = 3
    ratio_min_baseline_days: int = 4
    # Normal large-farm loss is 1-2 per 10,000 a day; a baseline below this is sampling luck.
    baseline_floor_per_10k: float = 1.0
    # The ratio rule also needs the count to be implausible against the last 4 weeks
    # (p-value of a conditional binomial test), otherwise a flock losing one bird a day
    # alarms every few weeks on a day of four after a lucky week.
    ratio_test_days: int = 28
    ratio_max_p_value: float = 1e-6


class DiseaseThresholds(_Section):
    water_drop_pct: float = 20.0
    feed_drop_pct: float = 20.0
    egg_drop_pct: float = 20.0
    lookback_days: int = 2  # the drop may lead the deaths by a day


class WaterThresholds(_Section):
    # Half of the usual water on one day (a blocked line, a sick flock) is critical at once:
    # twice this share below the farm's usual level.
    drop_pct: float = water.DROP_PCT
    # A lasting drop: the two-day sum this far under its usual level (or the farm's own
    # spread times `baseline.spread_k`, if larger) on two days running.
    drop_2day_pct: float = 12.0
    flat_days: int = water.FLAT_DAYS  # "flat or falling for > 2 days"
    flat_tolerance_pct: float = 2.0  # a rise smaller than this counts as flat
    # Flat intake is normal once birds stop growing fast. Measured on the simulator: raising this
    # to 100 days for slow local breeds (which gain ~1 %/day) fired on every healthy flock.
    growing_until_day: int = 42
    # A leak or a stuck nipple: this times the usual level (or the farm's spread, if larger),
    # on two days running. One day over is a meter read late.
    surge_ratio: float = 1.4


class WeightThresholds(_Section):
    below_curve_warning_pct: float = 15.0
    below_curve_critical_pct: float = 30.0
    # Heavy broilers use platform scales less after week 4, so automatic means read low.
    late_allowance_pct: float = 5.0
    late_from_day: int = 28
    gain_ratio: float = growth.GAIN_48H_RATIO  # 48-h gain <= 50 % of the previous 48 h
    gain_min_previous_g: float = 20.0
    uniformity_drop_points: float = 10.0  # vs 7 days earlier
    uniformity_good_pct: float = growth.UNIFORMITY_GOOD_PCT


class EggThresholds(_Section):
    # The two-day sum this far under its usual level (or the farm's spread times
    # `baseline.spread_k`), on two days running: a late collection cancels out in the sum.
    drop_pct: float = 10.0
    min_baseline_eggs: float = 10.0


class BaselineThresholds(_Section):
    """How a farm's own usual level and spread are learned (cloud/alerts/rules/baseline.py)."""

    window_days: int = 14
    # The newest this many points set the level and the trend (a broiler's growth slows
    # week by week: a longer trend expects too much today).
    trend_days: int = 7
    min_days: int = 7
    # A series judged over its growth-expected value has no trend to estimate: fewer days
    # give its level (a flock that came in a week ago is judged from its fifth day).
    flat_min_days: int = 4
    # A run of missing days this long ends the window: the house was empty, a new flock came.
    max_gap_days: int = 5
    spread_k: float = 4.0  # robust SDs from the usual level that count as out of line


class RecordThresholds(_Section):
    """What a written value must look like before it is believed (cloud/alerts/screening.py)."""

    # A value this many times the usual (or under 1/this) is a slipped decimal point.
    # Tight around 10: a blocked water line can leave a tenth by chance, rarely exactly.
    decimal_low: float = 8.5
    decimal_high: float = 11.8
    # Above this many times the usual level a value is not believed at all.
    water_max_ratio: float = 4.0
    feed_max_ratio: float = 2.5
    eggs_max_ratio: float = 1.6
    # After a missing day, this range times the usual is that day and the next in one row.
    two_days_low: float = 1.6
    two_days_high: float = 2.5
    # A value within this factor of another column's usual level "fits" that column.
    fits_ratio: float = 1.35


class EnvironmentThresholds(_Section):
    """Comfort bands start from farming's published numbers (farming/climate.py has the sources)."""

    target_curve: tuple[tuple[float, float], ...] = _COMFORT.target_curve
    feathered_by_day: float = _COMFORT.feathered_by_day
    reference_rh_pct: float = _COMFORT.reference_rh_pct
    rh_correction_c_per_pct: float = _COMFORT.rh_correction_c_per_pct
    band_warning_c: float = _COMFORT.band_warning_c
    band_critical_c: float = _COMFORT.band_critical_c
    change_warning_c_per_h: float = 3.0
    change_critical_c_per_h: float = 5.0
    thi_alert: float = _COMFORT.thi_alert
    thi_danger: float = _COMFORT.thi_danger
    thi_emergency: float = _COMFORT.thi_emergency
    nh3_warning_ppm: float = _COMFORT.nh3_warning_ppm
    nh3_critical_ppm: float = _COMFORT.nh3_critical_ppm
    nh3_chick_warning_ppm: float = _COMFORT.nh3_chick_warning_ppm
    chick_until_day: int = _COMFORT.chick_until_day
    co2_warning_ppm: float = _COMFORT.co2_warning_ppm
    co2_critical_ppm: float = _COMFORT.co2_critical_ppm
    rh_low_pct: float = _COMFORT.rh_low_pct
    rh_high_pct: float = _COMFORT.rh_high_pct
    rh_sustained_hours: float = 6.0
    # A heat wave: THI this far above the house's usual daily peak over the last
    # `heat_wave_days` (and in the emergency band). On the 30-day demo's weather (hourly
    # house climate from the simulator), 3.0 told 11 of the 12 farms under the injected wave
    # on its first full day (the 12th, a cooled closed house, never got that much hotter) and
    # fired on 34 other house-days (the summer's own hot spells); 2.5 fired on 66.
    heat_wave_margin_thi: float = 3.0
    heat_wave_days: int = 7
    heat_wave_min_days: int = 4

    def comfort(self) -> ComfortLimits:
        """These limits as farming's judge of a reading, shared by the rules and the farmer's page."""
        return ComfortLimits(**{f.name: getattr(self, f.name) for f in fields(ComfortLimits)})


class HealthThresholds(_Section):
    missed_heartbeats: int = 3
    offline_critical_hours: float = 24.0
    backlog_min_depth: int = 500
    backlog_growth_samples: int = 4
    clock_skew_warning_s: float = 30.0
    clock_skew_critical_s: float = 600.0
    # NH3 and CO2 are both diluted by the same air flow, so their ratio changes slowly (litter,
    # bird size). An electrochemical cell creeping upward breaks it within days.
    nh3_drift_ratio: float = 2.5  # ratio vs the house's baseline week
    nh3_drift_days: int = 2  # consecutive days over it, each higher than the last
    nh3_drift_min_ppm: float = 3.0  # and the NH3 reading itself up at least this much
    nh3_drift_baseline_days: int = 7
    nh3_drift_min_baseline_days: int = 3
    # Below this CO2 above outside air there are no birds (or the house is wide open): no ratio.
    co2_excess_min_ppm: float = 80.0


class RegionalThresholds(_Section):
    min_farms: int = 3
    window_hours: float = 72.0


class CameraThresholds(_Section):
    # A carcass is news until someone removes it; sightings older than this clear the alert.
    dead_bird_window_hours: float = 12.0
    dead_bird_critical_count: int = 3  # this many in one house within the window


class Thresholds(_Section):
    mortality: MortalityThresholds = Field(default_factory=MortalityThresholds)
    disease: DiseaseThresholds = Field(default_factory=DiseaseThresholds)
    water: WaterThresholds = Field(default_factory=WaterThresholds)
    weight: WeightThresholds = Field(default_factory=WeightThresholds)
    eggs: EggThresholds = Field(default_factory=EggThresholds)
    baseline: BaselineThresholds = Field(default_factory=BaselineThresholds)
    records: RecordThresholds = Field(default_factory=RecordThresholds)
    environment: EnvironmentThresholds = Field(default_factory=EnvironmentThresholds)
    health: HealthThresholds = Field(default_factory=HealthThresholds)
    regional: RegionalThresholds = Field(default_factory=RegionalThresholds)
    camera: CameraThresholds = Field(default_factory=CameraThresholds)


DEFAULTS = Thresholds()


class ThresholdBook(_Section):
    """Layered overrides: `farms` keys are farm ids, `houses` keys are "farm/house"."""

    base: dict[str, Any] = Field(default_factory=dict)
    breeds: dict[str, dict[str, Any]] = Field(default_factory=dict)
    farms: dict[str, dict[str, Any]] = Field(default_factory=dict)
    houses: dict[str, dict[str, Any]] = Field(default_factory=dict)

    def resolve(
        self, breed: str | None = None, farm: str | None = None, house: str | None = None
    ) -> Thresholds:
        merged: dict[str, Any] = {}
        layers = [self.base, self.breeds.get(breed or "", {}), self.farms.get(farm or "", {})]
        layers.append(self.houses.get(f"{farm}/{house}", {}))
        for layer in layers:
            merged = _deep_merge(merged, layer)
        return Thresholds.model_validate(merged)

    def check(self) -> None:
        """Validate every layer now, so a bad file fails at load rather than at 3 a.m."""
        self.resolve()
        for name, layer in [*self.breeds.items(), *self.farms.items(), *self.houses.items()]:
            try:
                Thresholds.model_validate(_deep_merge(self.base, layer))
            except ValidationError as exc:
                raise ValueError(f"threshold override {name!r}: {exc}") from None


def load_book(path: Path) -> ThresholdBook:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping with base/breeds/farms/houses")
    book = ThresholdBook.model_validate(data)
    book.check()
    return book


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out
