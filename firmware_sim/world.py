"""The simulated region, one day at a time: weather → houses → flocks → ground truth.

Pure: every farm has its own Generator derived from (scenario seed, farm id), so a farm's
history is the same whether it is simulated alone (device servers) or with the region.
Days are local (UTC+8) calendar days; hours inside them drive the house climate.
"""

from __future__ import annotations

import logging
import threading
import zlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from farming.climate import DEFAULT_LIMITS, thi
from firmware_sim.breeds import get_breed
from firmware_sim.clock import MS_PER_DAY, MS_PER_HOUR, epoch_ms
from firmware_sim.events import (
    DISEASES,
    EventSpec,
    FlockEffects,
    disease_effects,
    heat_wave_delta_c,
)
from firmware_sim.flock import (
    Flock,
    activity_index,
    cold_effects,
    cv_pct,
    heat_effects,
    hourly_water_shares,
    uniformity_pct,
)
from firmware_sim.house import HourInputs, HouseSpec, HouseState, step_house, target_temp_c
from firmware_sim.lighting import LOCAL_UTC_OFFSET_H, light_lux, lights_on
from firmware_sim.scenario import County, Farm, HouseModel, Scenario
from firmware_sim.weather import DayWeather, OutsideWeather, get_climate

log = logging.getLogger(__name__)
HOURS = np.arange(24)


def stream_rng(seed: int, *keys: str) -> np.random.Generator:
    return np.random.default_rng([seed, *(zlib.crc32(k.encode()) for k in keys)])


@dataclass
class HouseDay:
    """Hourly truth of one house for one local day (index h = local hour h)."""

    start_ms: int
    temp_c: np.ndarray
    rh_pct: np.ndarray
    co2_ppm: np.ndarray
    nh3_ppm: np.ndarray
    thi: np.ndarray
    vent_m3h: np.ndarray
    lux: np.ndarray
    water_l: np.ndarray  # litres drawn in each hour
    outside_c: np.ndarray
    activity: np.ndarray
    birds_alive: int
    mean_weight_g: float
    deaths: int = 0  # during this day
    sick_share: float = 0.0  # birds visibly ill (move little, lie a lot)


@dataclass
class HouseSim:
    farm: Farm
    model: HouseModel
    spec: HouseSpec
    flock: Flock | None = None
    state: HouseState | None = None
    today: HouseDay | None = None
    water_total_l: float = 0.0  # the water meter's count at the end of `today`
    water_before_l: float = 0.0  # ... and at its start
    disease_onsets: dict[int, int] = field(default_factory=dict)  # event index → onset day

    @property
    def programme(self) -> str:
        return "broiler" if self.model.kind == "closed" else "natural"


@dataclass
class FarmSim:
    farm: Farm
    county: County
    weather: OutsideWeather
    rng: np.random.Generator
    houses: list[HouseSim]


class World:
    def __init__(self, scenario: Scenario, *, seed: int | None = None,
                 farm_ids: set[str] | None = None) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.day_index = 0
        self.lock = threading.Lock()  # device servers may step the world from two threads
        # Local midnight of the start date, as UTC epoch ms.
        self.start_ms = epoch_ms(scenario.start) - int(LOCAL_UTC_OFFSET_H * MS_PER_HOUR)
        climate = get_climate(scenario.climate)
        self.farms: list[FarmSim] = []
        for farm in scenario.all_farms():
            if farm_ids is not None and farm.id not in farm_ids:
                continue
            county = scenario.county(farm.county)
            elevation = farm.elevation_m if farm.elevation_m is not None else county.elevation_m
            # Farms of one county share the weather's day-to-day anomalies.
            weather = OutsideWeather(climate, elevation, stream_rng(self.seed, "weather", county.id))
            houses = [HouseSim(farm, h, HouseSpec.for_flock(h.kind, h.flock.birds,
                                                            litter_age_start_d=h.litter_age_d,
                                                            co2_setpoint_ppm=h.min_vent_co2_ppm))
                      for h in farm.houses]
            self.farms.append(FarmSim(farm, county, weather, stream_rng(self.seed, "farm", farm.id), houses))
        if farm_ids is not None and len(self.farms) != len(farm_ids):
            missing = farm_ids - {f.farm.id for f in self.farms}
            raise ValueError(f"scenario {scenario.name} has no farms {sorted(missing)}")

    @property
    def now_ms(self) -> int:
        return self.start_ms + self.day_index * MS_PER_DAY

    def events_for(self, farm: FarmSim, house: HouseSim | None = None) -> list[tuple[int, EventSpec]]:
        return [(i, ev) for i, ev in enumerate(self.scenario.events)
                if ev.applies_to(farm.farm.id, farm.county.id, house.model.id if house else None)]

    def timeline(self) -> list[dict[str, Any]]:
        """Every event resolved per farm with exact event-time bounds (for scoring alerts)."""
        out = []
        for farm in self.farms:
            for _, ev in self.events_for(farm):
                out.append({
                    "farm_id": farm.farm.id, "gateway_id": farm.farm.gateway, "county": farm.county.id,
                    "type": ev.type, "label": ev.label, "house": ev.house,
                    "start_ms": self.start_ms + int(ev.start_day * MS_PER_DAY),
                    "end_ms": self.start_ms + int(ev.end_day * MS_PER_DAY),
                    "sensor": ev.sensor, "mode": ev.mode,
                })
        return sorted(out, key=lambda e: (e["start_ms"], e["farm_id"]))

    def step_day(self) -> list[dict[str, Any]]:
        """Simulate the next local day for every farm; return one truth row per live flock."""
        day = self.scenario.start + timedelta(days=self.day_index)
        rows = []
        for farm in self.farms:
            events = self.events_for(farm)
            heat = sum(heat_wave_delta_c(ev, self.day_index) for _, ev in events)
            weather = farm.weather.next_day(day, heat)
            for house in farm.houses:
                row = self._house_day(farm, house, weather, day)
                if row is not None:
                    rows.append(row)
        self.day_index += 1
        return rows

    # -- one house, one day -------------------------------------------------------------------
    def _house_day(self, farm: FarmSim, house: HouseSim, weather: DayWeather,
                   day: date) -> dict[str, Any] | None:
        spec_f = house.model.flock
        d = self.day_index
        if house.flock is None:
            if d < spec_f.placed_day:
                self._empty_house(house, weather, day)
                return None
            age0 = float(max(0, d - spec_f.placed_day))
            breed = get_breed(spec_f.breed)
            house.flock = Flock.place(spec_f.id, breed, spec_f.birds, farm.rng, day_age=0.0,
                                      housing="commercial" if house.model.kind == "closed" else "backyard")
            house.flock.fast_forward(int(age0), farm.rng)  # flocks already in at the start
        flock = house.flock
        if flock.birds_alive == 0:  # sold, or all dead
            self._empty_house(house, weather, day)
            return None
        events = self.events_for(farm, house)
        active = [(i, ev) for i, ev in events if ev.overlaps_day(d)]
        hours_t = d + HOURS / 24.0
        vent = np.ones(24)
        for _, ev in active:
            if ev.type == "ventilation_failure":
                vent[[ev.active(t) for t in hours_t]] = 0.0
        age = flock.day_age
        weight = flock.mean_weight_g()
        doy = day.timetuple().tm_yday
        lit = lights_on(HOURS, day_age=age, day_of_year=doy, programme=house.programme)
        lux = light_lux(HOURS + 0.5, day_age=age, day_of_year=doy, programme=house.programme,
                        cloud=weather.cloud)
        effects = FlockEffects()
        for i, ev in active:
            if ev.type in DISEASES:
                onset = house.disease_onsets.setdefault(i, d)
                effects = effects.combine(disease_effects(ev.type, d - onset, ev.severity))
        out_t = weather.temp_c(HOURS + 0.5)
        out_rh = weather.rh_pct(HOURS + 0.5)
        states = []
        for h in range(24):
            x = HourInputs(float(out_t[h]), float(out_rh[h]), flock.birds_alive, weight, age + h / 24.0,
                           vent_factor=float(vent[h]), water_spill=effects.water_spill)
            house.state = step_house(house.spec, house.state, x)
            states.append(house.state)
        thi_h = np.array([s.thi for s in states])
        temp_h = np.array([s.temp_c for s in states])
        effects = effects.combine(heat_effects(thi_h, target_temp_c(weight, age), weight,
                                               flock.breed.heat_tolerance_c))
        effects = effects.combine(cold_effects(temp_h, target_temp_c(weight, age), weight,
                                               flock.breed.cold_tolerance_c))
        sizes = flock.alive_weights_g()
        result = flock.step_day(farm.rng, extra_hazard=effects.extra_hazard,
                                gain_factor=effects.gain_factor, intake_factor=effects.intake_factor,
                                water_factor=effects.water_factor)
        water_h = result.water_l * hourly_water_shares(lit)
        house.water_before_l = house.water_total_l
        house.water_total_l += result.water_l
        activity = np.array([activity_index(bool(lit[h]), age, effects.sick_share,
                                            min(1.0, max(0.0, (thi_h[h] - DEFAULT_LIMITS.thi_alert) / 5.0))) for h in range(24)])
        house.today = HouseDay(
            self.start_ms + d * MS_PER_DAY,
            temp_h, np.array([s.rh_pct for s in states]), np.array([s.co2_ppm for s in states]),
            np.array([s.nh3_ppm for s in states]), thi_h, np.array([s.vent_m3h for s in states]),
            lux, water_h, out_t, activity, result.birds_alive, weight, result.deaths,
            effects.sick_share,
        )
        labels = sorted({ev.label for _, ev in events if ev.overlaps_day(d)})
        market_age = spec_f.market_age_d or flock.breed.market_age_d
        sold = 0
        if age >= market_age and result.birds_alive > 0:  # caught and sold at the end of the day
            sold = result.birds_alive
            flock.alive[:] = False
            labels.append("marketed")
        return truth_row(farm, house, day, age, sizes, result.deaths, result.birds_alive - sold, sold,
                         result.feed_kg, result.water_l, labels)

    def _empty_house(self, house: HouseSim, weather: DayWeather, day: date) -> None:
        """No birds: the transmitters read the outside air coming through the open house."""
        out_t = weather.temp_c(HOURS + 0.5)
        out_rh = weather.rh_pct(HOURS + 0.5)
        doy = day.timetuple().tm_yday
        lux = (light_lux(HOURS + 0.5, day_age=99, day_of_year=doy, programme="natural",
                         cloud=weather.cloud) * (0.05 if house.model.kind == "closed" else 1.0))
        zeros = np.zeros(24)
        house.state = None
        house.water_before_l = house.water_total_l
        house.today = HouseDay(self.start_ms + self.day_index * MS_PER_DAY, out_t, out_rh,
                               np.full(24, 420.0), np.full(24, 0.3), np.array([thi(t, rh) for t, rh in zip(out_t, out_rh, strict=True)]),
                               zeros, lux, zeros.copy(), out_t, zeros.copy(), 0, 0.0)


def truth_row(farm: FarmSim, house: HouseSim, day: date, age: float, sizes: np.ndarray,
              deaths: int, alive: int, sold: int, feed_kg: float, water_l: float,
              labels: list[str]) -> dict[str, Any]:
    """One flock-day of ground truth; weights are the live birds at the start of the day."""
    flock, hd = house.flock, house.today
    assert flock is not None and hd is not None
    return {
        "farm_id": farm.farm.id, "flock_id": flock.flock_id, "house_id": house.model.id,
        "gateway_id": farm.farm.gateway, "county": farm.county.id, "township": farm.farm.township,
        "breed": flock.breed.name, "day_age": int(round(age)), "date": day.isoformat(),
        "birds_placed": flock.placed, "birds_alive": alive, "deaths": deaths, "sold": sold,
        "mean_weight_g": round(float(sizes.mean()) if sizes.size else 0.0, 1),
        "expected_weight_g": round(flock.breed.curve(age), 1),
        "cv_pct": round(cv_pct(sizes), 2), "uniformity_pct": round(uniformity_pct(sizes), 1),
        "feed_kg": round(feed_kg, 2), "water_l": round(water_l, 2),
        "house_temp_c": round(float(hd.temp_c.mean()), 2),
        "house_temp_max_c": round(float(hd.temp_c.max()), 2),
        "house_rh_pct": round(float(hd.rh_pct.mean()), 1),
        "nh3_ppm": round(float(hd.nh3_ppm.mean()), 2), "nh3_max_ppm": round(float(hd.nh3_ppm.max()), 2),
        "co2_ppm": round(float(hd.co2_ppm.mean()), 0),
        "thi": round(float(hd.thi.mean()), 2), "thi_max": round(float(hd.thi.max()), 2),
        "outside_temp_c": round(float(hd.outside_c.mean()), 2),
        "outside_temp_max_c": round(float(hd.outside_c.max()), 2),
        "events": labels,
    }
