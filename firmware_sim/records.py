"""A farm's daily book, simulated: deaths, birds, water, feed, weighings and eggs, one row a day.

Three kinds of farm, as the programme has them:
- layer: flocks of 5,000 hens from 20 to 100 weeks of age (4 empty weeks between), the lay
  curve rising to ~94 % at 28 weeks and easing off after 30; water and feed follow the season;
- broiler: Ross 308, 10,000 birds, 42-day flocks with 14 empty days between (no rows then);
- local: yellow-feather birds, 3,000 a flock, 100-day flocks with 20 empty days, free range,
  so water swings with the weather and losses come in clumps (predators, weather).
Sample weighings are weekly. Events (firmware_sim/record_events.py) change the true values;
noise (firmware_sim/record_noise.py) changes what is written down. Pure numpy, seeded.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from farming.growth import STANDARDS
from firmware_sim.record_events import LAYER_ONLY, Signature, signature

START = date(2025, 1, 6)
COLUMNS = ("date", "deaths", "birds", "water_l", "feed_kg", "mean_weight_g", "eggs")


@dataclass(frozen=True)
class Farm:
    kind: str
    breed: str
    birds: int
    cycle_days: int | None  # None: one flock for the whole record
    empty_days: int = 0
    start_age: int = 1  # age in days on the first recorded day of a flock
    water_noise: float = 0.03  # day-to-day spread of intake (weather, meter reading time)
    clump: float = 0.0  # extra spread of daily losses (gamma shape 1/clump); 0 = Poisson


FARMS = {
    # Hens kept to 100 weeks of age, then four weeks to clean the house for the next flock.
    "layer": Farm("layer", "layer", 5000, 560, empty_days=28, start_age=140, water_noise=0.035),
    "broiler": Farm("broiler", "ross308", 10_000, 42, empty_days=14),
    "local": Farm("local", "yellow_feather", 3000, 100, empty_days=20, water_noise=0.07, clump=0.5),
}


@dataclass
class Row:
    """One day as it would be written down (before noise)."""

    day: date
    deaths: int
    birds: int
    water_l: float
    feed_kg: float
    mean_weight_g: float | None
    eggs: int | None


@dataclass
class FarmRecord:
    farm: Farm
    rows: list[Row]
    flocks: list[dict[str, str]]
    events: list[dict[str, Any]] = field(default_factory=list)


def simulate(
    kind: str, days: int, seed: int, events: list[tuple[str, int]] | None = None
) -> FarmRecord:
    """`days` calendar days of a `kind` farm; `events` are (kind, day index) onsets."""
    farm = FARMS[kind]
    rng = np.random.default_rng(seed)
    starts = _onsets(farm, days, events or [])
    rows: list[Row] = []
    flocks: list[dict[str, str]] = []
    truth: list[dict[str, Any]] = []
    active: list[tuple[int, Signature]] = []
    alive, deficit, flock_first = farm.birds, 0.0, 0
    for i in range(days):
        age = _age(farm, i)
        if age is None:
            active = []
            continue
        today = START + timedelta(days=i)
        if age == farm.start_age:  # a new flock is placed
            alive, deficit, flock_first = farm.birds, 0.0, i
            flocks.append({"placed_on": (today - timedelta(days=age)).isoformat()})
        flocks[-1]["last_day"] = today.isoformat()
        for ev_kind in starts.get(i, []):
            sig = signature(ev_kind, farm.kind, age, rng)
            active.append((i, sig))
            end = min(i + sig.days - 1, _flock_end(farm, i, days))
            truth.append({"kind": ev_kind, "onset": today.isoformat(),
                          "end": (START + timedelta(days=end)).isoformat(), "age_days": age})
        effect = _combine(active, i)
        active = [(s, sig) for s, sig in active if i - s + 1 < sig.days]
        season = _season(today)
        rate = _base_death_rate(farm, age) * _clump(farm, rng) + effect["death_rate"]
        deaths = int(min(rng.poisson(alive * min(rate, 0.5)), alive))
        feed_per_bird = _feed_kg(farm, age) * (1 - 0.06 * season)
        feed = alive * feed_per_bird * rng.normal(1, 0.02) * effect["feed"]
        ratio = 2.0 if farm.kind == "layer" else 1.8
        water = (alive * feed_per_bird * ratio * (1 + 0.25 * season)
                 * max(rng.normal(1, farm.water_noise), 0.5) * effect["water"])
        eggs = None
        if farm.kind == "layer":
            lay = _lay_rate(age) * rng.normal(1, 0.01) * effect["eggs"]
            eggs = int(rng.binomial(alive, float(np.clip(lay, 0, 1))))
        weight = None
        if farm.kind != "layer":
            curve = STANDARDS[farm.breed]
            gain = curve(age) - curve(age - 1)
            deficit += (1 - effect["gain"]) * gain / curve(age)
            if (i - flock_first) % 7 == 6:  # the weekly sample weighing
                weight = round(curve(age) * (1 - deficit) * rng.normal(1, 0.02))
        rows.append(Row(today, deaths, alive, round(water, 1), round(feed, 1), weight, eggs))
        alive -= deaths
    return FarmRecord(farm, rows, flocks, truth)


def _onsets(farm: Farm, days: int, events: list[tuple[str, int]]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for kind, at in events:
        if kind in LAYER_ONLY and farm.kind != "layer":
            raise ValueError(f"{kind} is a disease of laying hens; this is a {farm.kind} farm")
        if not 0 <= at < days:
            raise ValueError(f"{kind}@{at}: day outside 0..{days - 1}")
        if _age(farm, at) is None:
            raise ValueError(f"{kind}@{at}: the house is empty that day (between flocks)")
        out.setdefault(at, []).append(kind)
    return out


def _age(farm: Farm, i: int) -> int | None:
    """Age of the flock on day index i, or None while the house stands empty."""
    if farm.cycle_days is None:
        return farm.start_age + i
    pos = i % (farm.cycle_days + farm.empty_days)
    return None if pos >= farm.cycle_days else farm.start_age + pos


def _flock_end(farm: Farm, i: int, days: int) -> int:
    end = i
    while end + 1 < days and _age(farm, end + 1) not in (None, farm.start_age):
        end += 1
    return end


def _combine(active: list[tuple[int, Signature]], i: int) -> dict[str, float]:
    out = {"death_rate": 0.0, "water": 1.0, "feed": 1.0, "eggs": 1.0, "gain": 1.0}
    for start, sig in active:
        k = i - start
        out["death_rate"] += float(sig.death_rate[k])
        for name in ("water", "feed", "eggs", "gain"):
            out[name] *= float(getattr(sig, name)[k])
    return out


def _season(day: date) -> float:
    """0 in midwinter, 1 at the height of summer (late July)."""
    return 0.5 * (1 + math.sin(2 * math.pi * (day.timetuple().tm_yday - 115) / 365))


def _base_death_rate(farm: Farm, age: int) -> float:
    if farm.kind == "layer":
        return 1.0e-4 * (1 + age / 700)
    if farm.kind == "broiler":
        return 1.8e-4 + 2.2e-3 * math.exp(-age / 2.5)
    return 4.0e-4 + 1.5e-3 * math.exp(-age / 3)


def _clump(farm: Farm, rng: np.random.Generator) -> float:
    return 1.0 if farm.clump <= 0 else float(rng.gamma(1 / farm.clump, farm.clump))


def _feed_kg(farm: Farm, age: int) -> float:
    if farm.kind == "layer":
        return 0.112
    if farm.kind == "broiler":
        return (10 + 5.5 * age - 0.02 * age * age) / 1000
    return (8 + 85 * (1 - math.exp(-age / 30))) / 1000


def _lay_rate(age: int) -> float:
    """Hen-day rate: up from 19 weeks to ~94 % by 28, then about 0.35 points a week less."""
    weeks = age / 7
    rise = 0.94 * (1 - math.exp(-max(weeks - 19, 0) / 2.5))
    return max(rise - 0.0035 * max(weeks - 30, 0), 0.0)


def to_csv(cells: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(cells)
    return out.getvalue()


def cells_of(row: Row) -> dict[str, str]:
    """The row as a farmer writes it: whole counts, litres and kilograms to one decimal."""
    return {
        "date": row.day.isoformat(),
        "deaths": str(row.deaths),
        "birds": str(row.birds),
        "water_l": f"{row.water_l:.1f}",
        "feed_kg": f"{row.feed_kg:.1f}",
        "mean_weight_g": "" if row.mean_weight_g is None else f"{row.mean_weight_g:.0f}",
        "eggs": "" if row.eggs is None else str(row.eggs),
    }
