"""Events on the timeline: outbreaks, heat waves, ventilation failures, faults and outages.

Each event is data (from the scenario) plus a pure effect for a given moment. Disease
shapes follow field accounts: HPAI-like is sudden and steep with water and feed falling;
ND-like rises over days with gain and water dropping; coccidiosis-like mostly takes gain
and wets the litter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DISEASES = ("hpai", "nd", "coccidiosis")
EventType = Literal[
    "hpai", "nd", "coccidiosis", "heat_wave", "cold_snap", "ventilation_failure", "sensor_fault",
    "camera_blackout", "gateway_power_loss", "network_outage",
]
FaultMode = Literal["stuck", "drift", "spikes", "dropout", "out_of_range"]
DEFAULT_DAYS = {"hpai": 30.0, "nd": 21.0, "coccidiosis": 10.0, "heat_wave": 5.0, "cold_snap": 4.0}


class EventSpec(BaseModel):
    """One timeline entry. Targets: farms by id, or every farm of a county, or all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: EventType
    start_day: float = Field(ge=0, description="days after the scenario start; fractions are hours")
    days: float | None = Field(default=None, gt=0)
    hours: float | None = Field(default=None, gt=0)
    farms: tuple[str, ...] | None = None
    county: str | None = None
    house: str | None = None
    name: str | None = None
    severity: float = Field(default=1.0, gt=0, le=10)
    delta_c: float = Field(default=6.0, ge=0, le=20,
                           description="heat wave: added to daily means; cold snap: taken off")
    sensor: str | None = Field(default=None, description="sensor fault: metric, e.g. nh3_ppm")
    mode: FaultMode | None = None

    @model_validator(mode="after")
    def _consistent(self) -> EventSpec:
        if self.days is not None and self.hours is not None:
            raise ValueError("give either days or hours, not both")
        if self.type == "sensor_fault" and (self.sensor is None or self.mode is None):
            raise ValueError("sensor_fault needs sensor (a metric) and mode")
        return self

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.type == "sensor_fault":
            return f"sensor_fault:{self.sensor}:{self.mode}"
        return self.type

    @property
    def duration_days(self) -> float:
        if self.hours is not None:
            return self.hours / 24.0
        if self.days is not None:
            return self.days
        return DEFAULT_DAYS.get(self.type, 1.0)

    @property
    def end_day(self) -> float:
        return self.start_day + self.duration_days

    def active(self, t_day: float) -> bool:
        return self.start_day <= t_day < self.end_day

    def overlaps_day(self, day_index: int) -> bool:
        return self.start_day < day_index + 1 and self.end_day > day_index

    def applies_to(self, farm_id: str, county: str, house: str | None = None) -> bool:
        if self.farms is not None and farm_id not in self.farms:
            return False
        if self.county is not None and self.county != county:
            return False
        return not (self.house is not None and house is not None and self.house != house)


@dataclass(frozen=True)
class FlockEffects:
    extra_hazard: float = 0.0  # added daily death probability
    gain_factor: float = 1.0  # share of a normal day's growth
    intake_factor: float = 1.0
    water_factor: float = 1.0
    water_spill: float = 1.0  # wet litter: more NH3 and moisture
    sick_share: float = 0.0  # birds visibly sick (move less)

    def combine(self, other: FlockEffects) -> FlockEffects:
        return FlockEffects(
            1.0 - (1.0 - self.extra_hazard) * (1.0 - other.extra_hazard),
            self.gain_factor * other.gain_factor,
            self.intake_factor * other.intake_factor,
            self.water_factor * other.water_factor,
            max(self.water_spill, other.water_spill),
            min(1.0, self.sick_share + other.sick_share),
        )


def disease_effects(kind: str, days_since_onset: int, severity: float = 1.0) -> FlockEffects:
    """Effect on day `days_since_onset` (0 = the day it starts)."""
    d = days_since_onset
    if d < 0:
        return FlockEffects()
    if kind == "hpai":
        # Sudden: ≥ 0.5 %/day from the first day, > 2 % in 24 h by the second.
        hazard = min(0.7, 0.015 * severity * 3.0**d)
        drop = min(0.7, 0.25 * (d + 1))
        return FlockEffects(hazard, 0.2, 1.0 - drop, 1.0 - drop, 1.0, min(1.0, 0.1 * 3.0**d))
    if kind == "nd":
        # A day of drinking and eating less comes before the deaths (the early warning the
        # water rule looks for), then mortality climbs for about a week and eases off.
        if d == 0:
            return FlockEffects(0.0005, 0.7, 0.9, 0.85, 1.1, 0.05)
        rise = 0.004 * severity * 1.6 ** min(d - 1, 6)
        hazard = min(0.05, rise * (0.7 ** max(0, d - 7)))
        return FlockEffects(hazard, 0.5, 0.8, 0.8, 1.2, min(0.6, 0.08 * (d + 1)))
    if kind == "coccidiosis":
        peak = 0.003 * severity * max(0.0, 1.0 - abs(d - 4) / 4.0)
        # Gain collapses while the gut lining is damaged (days 1-5), then catches up a little.
        gain = 0.4 if 1 <= d <= 5 else (0.8 if d in (0, 6) else 1.1)
        acute = d < 7
        return FlockEffects(peak, gain, 0.8 if acute else 1.0, 0.88 if acute else 1.0,
                            1.6 if acute else 1.1, 0.25 if acute else 0.0)
    raise ValueError(f"unknown disease {kind!r}; known: {', '.join(DISEASES)}")


def heat_wave_delta_c(event: EventSpec, day_index: int) -> float:
    """Added to the daily mean: shoulders at 60 % on the first and last day; negative for a
    cold snap."""
    if event.type not in ("heat_wave", "cold_snap") or not event.overlaps_day(day_index):
        return 0.0
    sign = 1.0 if event.type == "heat_wave" else -1.0
    first = int(event.start_day)
    last = int(max(event.start_day, event.end_day - 1e-9))
    edge = day_index in (first, last) and last > first
    return sign * event.delta_c * (0.6 if edge else 1.0)
