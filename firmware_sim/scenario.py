"""Scenario files: region tree, farms, houses, flocks, gateways and the event timeline (YAML).

A scenario argument is a path or the name of a shipped file in firmware_sim/scenarios/.
Fleet scenarios may generate their farms from a few parameters instead of listing them.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from firmware_sim.breeds import BREEDS
from firmware_sim.events import EventSpec
from firmware_sim.weather import CLIMATES

log = logging.getLogger(__name__)

SCENARIO_DIR = Path(__file__).parent / "scenarios"
Id = str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Township(_Strict):
    id: Id
    name: str
    villages: tuple[str, ...] = ()


class County(_Strict):
    id: Id
    name: str
    elevation_m: float = 300.0
    townships: tuple[Township, ...] = ()


class FlockSpec(_Strict):
    id: Id
    breed: str
    birds: int = Field(gt=0, le=200_000)
    placed_day: int = Field(default=0, description="days after the start; negative = already in")
    market_age_d: int | None = Field(default=None, gt=0, description="sold at this age (breed default)")

    @model_validator(mode="after")
    def _known_breed(self) -> FlockSpec:
        if self.breed not in BREEDS:
            raise ValueError(f"unknown breed {self.breed!r}; known: {', '.join(sorted(BREEDS))}")
        return self


class HouseModel(_Strict):
    id: Id = "h1"
    kind: Literal["closed", "open"] = "closed"
    litter_age_d: float = Field(default=0.0, ge=0, description="re-used litter at placement")
    flock: FlockSpec
    scale: bool = True
    camera: bool = True
    # Farms that save heat in winter ventilate less: CO2 (and NH3) run higher.
    min_vent_co2_ppm: float = Field(default=2500.0, ge=800, le=10_000)


class Farm(_Strict):
    id: Id
    name: str = ""
    owner: str = ""
    phone: str = ""
    county: Id
    township: Id
    village: str = ""
    lat: float | None = None
    lon: float | None = None
    elevation_m: float | None = None
    gateway: Id
    houses: tuple[HouseModel, ...] = Field(min_length=1)


class FleetGenerator(_Strict):
    """Procedural farms for load tests: deterministic from the scenario seed."""

    gateways: int = Field(gt=0, le=100_000)
    breeds: dict[str, float] = {"ross308": 0.3, "cobb500": 0.1, "yellow_feather": 0.4,
                                "local_xiushan": 0.2}
    birds_min: int = Field(default=50, gt=0)
    birds_max: int = Field(default=3000, gt=0)
    id_prefix: str = "fleet"


class Scenario(_Strict):
    name: str
    description: str = ""
    seed: int = 0
    start: date
    days: int = Field(default=42, gt=0, le=3650)
    climate: str = "chongqing"
    province: str = "重庆市"
    city: str = "重庆市"
    counties: tuple[County, ...] = Field(min_length=1)
    farms: tuple[Farm, ...] = ()
    generate: FleetGenerator | None = None
    events: tuple[EventSpec, ...] = ()

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        if self.climate not in CLIMATES:
            raise ValueError(f"unknown climate {self.climate!r}; known: {', '.join(sorted(CLIMATES))}")
        townships = {(c.id, t.id) for c in self.counties for t in c.townships}
        seen: set[str] = set()
        gateways: set[str] = set()
        for farm in self.farms:
            if farm.id in seen:
                raise ValueError(f"farm id {farm.id!r} appears twice")
            if farm.gateway in gateways:
                raise ValueError(f"gateway {farm.gateway!r} is used by two farms")
            seen.add(farm.id)
            gateways.add(farm.gateway)
            if (farm.county, farm.township) not in townships:
                raise ValueError(f"farm {farm.id}: township {farm.county}/{farm.township} is not in the region tree")
        counties = {c.id for c in self.counties}
        for i, ev in enumerate(self.events):
            unknown = set(ev.farms or ()) - seen
            if unknown and self.generate is None:
                raise ValueError(f"event {i} ({ev.type}) names unknown farms: {sorted(unknown)}")
            if ev.county is not None and ev.county not in counties:
                raise ValueError(f"event {i} ({ev.type}) names unknown county {ev.county!r}")
        if not self.farms and self.generate is None:
            raise ValueError("a scenario needs farms or a generate section")
        return self

    def county(self, county_id: str) -> County:
        return next(c for c in self.counties if c.id == county_id)

    def all_farms(self) -> tuple[Farm, ...]:
        if self.generate is None:
            return self.farms
        return self.farms + generate_farms(self, self.generate)


def registry(scenario: Scenario) -> dict[str, Any]:
    """The scenario's region tree, farms, houses, flocks and gateways as plain data, with
    placement dates resolved: what a demo seeds into the platform's database."""
    farms = scenario.all_farms()
    return {
        "name": scenario.name,
        "start": scenario.start.isoformat(),
        "days": scenario.days,
        "region": {
            "province": scenario.province,
            "city": scenario.city,
            "counties": [
                {"id": c.id, "name": c.name, "elevation_m": c.elevation_m,
                 "townships": [{"id": t.id, "name": t.name, "villages": list(t.villages)}
                               for t in c.townships]}
                for c in scenario.counties
            ],
        },
        "farms": [
            {
                "id": f.id, "name": f.name, "owner": f.owner, "phone": f.phone, "county": f.county,
                "township": f.township, "village": f.village, "lat": f.lat, "lon": f.lon,
                "gateway": f.gateway,
                "houses": [
                    {"id": h.id, "kind": h.kind, "scale": h.scale, "camera": h.camera,
                     "flock": {"id": h.flock.id, "breed": h.flock.breed, "birds": h.flock.birds,
                               "placed_on": (scenario.start + timedelta(days=h.flock.placed_day)).isoformat(),
                               "market_age_d": h.flock.market_age_d or BREEDS[h.flock.breed].market_age_d}}
                    for h in f.houses
                ],
            }
            for f in farms
        ],
    }


def generate_farms(scenario: Scenario, gen: FleetGenerator) -> tuple[Farm, ...]:
    rng = np.random.default_rng([scenario.seed, 7_919])
    places = [(c, t) for c in scenario.counties for t in c.townships]
    names = sorted(gen.breeds)
    weights = np.array([gen.breeds[n] for n in names], dtype=float)
    weights /= weights.sum()
    farms = []
    for i in range(gen.gateways):
        county, township = places[i % len(places)]
        breed = names[int(rng.choice(len(names), p=weights))]
        local = BREEDS[breed].kind == "local"
        birds = int(rng.integers(gen.birds_min, gen.birds_max + 1))
        fid = f"{gen.id_prefix}-{i:05d}"
        farms.append(Farm(
            id=fid, name=f"Farm {i}", county=county.id, township=township.id,
            gateway=f"gw-{fid}",
            houses=(HouseModel(
                id="h1", kind="open" if local else "closed",
                flock=FlockSpec(id=f"{fid}-f1", breed=breed, birds=birds,
                                placed_day=-int(rng.integers(0, 90 if local else 35))),
            ),),
        ))
    return tuple(farms)


def resolve(path_or_name: str | Path) -> Path:
    """A file path, or the name of a shipped scenario (with or without .yaml)."""
    candidate = Path(path_or_name)
    if candidate.is_file():
        return candidate
    name = candidate.name if candidate.suffix in (".yaml", ".yml") else f"{candidate.name}.yaml"
    shipped = SCENARIO_DIR / name
    if shipped.is_file():
        return shipped
    known = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml")))
    raise FileNotFoundError(f"no scenario file {str(path_or_name)!r} and no shipped scenario of that name (shipped: {known})")


def load_scenario(path_or_name: str | Path) -> Scenario:
    path = resolve(path_or_name)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a scenario is a mapping at the top level")
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"{path}: invalid scenario:\n{exc}") from None
