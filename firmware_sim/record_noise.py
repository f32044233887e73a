"""How real farm books differ from the truth (DESIGN.md §5): what `--noise real` writes down.

Rates are per recorded day and are our reading of programme farm books, not a published
figure; each pattern is seeded and its dates go to the truth file:
- late collection: eggs collected late, one day 20-50 % short, the next day makes it up;
- missing days: a day (sometimes two or three) not written down;
- two days at once: a day left blank and its counts added to the next day's row;
- wrong column: two counts of one day swapped (water/feed, eggs/water, deaths/eggs);
- decimal typo: a slipped decimal point (x10, /10) or digits run together (`4409.3040`);
- round numbers: a farmer who rounds water and feed to 10 and eggs to 100 on some days.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from firmware_sim.records import Row, cells_of


@dataclass(frozen=True)
class NoiseRates:
    late_collection: float = 0.04
    missing: float = 0.012
    two_days_at_once: float = 0.008
    wrong_column: float = 0.004
    decimal_typo: float = 0.004
    rounded: float = 0.25


REAL = NoiseRates()
_SWAPS = {
    "layer": (("eggs", "water_l"), ("deaths", "eggs"), ("water_l", "feed_kg")),
    "broiler": (("water_l", "feed_kg"),),
    "local": (("water_l", "feed_kg"),),
}


def add_noise(
    rows: list[Row], farm_kind: str, seed: int, rates: NoiseRates = REAL
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """Rows as written down, and the truth of what was changed (ISO dates per pattern)."""
    rng = np.random.default_rng([seed, 19])  # its own stream: noise does not move the flock
    truth: dict[str, list[str]] = {
        k: [] for k in ("late_collection", "missing", "two_days_at_once", "wrong_column",
                        "decimal_typo", "rounded")
    }
    rows = list(rows)
    _late_collection(rows, rng, rates, truth)
    keep = _missing_and_merged(rows, rng, rates, truth)
    cells = []
    for i, row in enumerate(rows):
        if not keep[i]:
            continue
        cell = cells_of(row)
        if rng.random() < rates.rounded:
            _round(cell)
            truth["rounded"].append(cell["date"])
        if rng.random() < rates.wrong_column:
            options = _SWAPS[farm_kind]
            a, b = options[int(rng.integers(len(options)))]
            cell[a], cell[b] = cell[b], cell[a]
            truth["wrong_column"].append(cell["date"])
        elif rng.random() < rates.decimal_typo:
            _typo(cell, rng, farm_kind)
            truth["decimal_typo"].append(cell["date"])
        cells.append(cell)
    return cells, dict(truth)


def _late_collection(
    rows: list[Row], rng: np.random.Generator, rates: NoiseRates, truth: dict[str, list[str]]
) -> None:
    for i in range(len(rows) - 1):
        row, nxt = rows[i], rows[i + 1]
        if row.eggs is None or nxt.eggs is None or (nxt.day - row.day).days != 1:
            continue
        if rng.random() < rates.late_collection:
            short = int(round(row.eggs * rng.uniform(0.2, 0.5)))
            rows[i] = replace(row, eggs=row.eggs - short)
            rows[i + 1] = replace(nxt, eggs=nxt.eggs + short)
            truth["late_collection"].append(row.day.isoformat())


def _missing_and_merged(
    rows: list[Row], rng: np.random.Generator, rates: NoiseRates, truth: dict[str, list[str]]
) -> list[bool]:
    keep = [True] * len(rows)
    i = 0
    while i < len(rows) - 1:
        u = rng.random()
        if u < rates.missing:
            run = int(rng.choice([1, 1, 1, 2, 3]))
            for k in range(i, min(i + run, len(rows) - 1)):
                keep[k] = False
                truth["missing"].append(rows[k].day.isoformat())
            i += run + 1
            continue
        if u < rates.missing + rates.two_days_at_once and (rows[i + 1].day - rows[i].day).days == 1:
            a, b = rows[i], rows[i + 1]
            rows[i + 1] = replace(
                b,
                deaths=a.deaths + b.deaths,
                birds=a.birds,
                water_l=round(a.water_l + b.water_l, 1),
                feed_kg=round(a.feed_kg + b.feed_kg, 1),
                eggs=None if a.eggs is None or b.eggs is None else a.eggs + b.eggs,
            )
            keep[i] = False
            truth["two_days_at_once"].append(b.day.isoformat())  # the row that holds both
            i += 2
            continue
        i += 1
    return keep


def _round(cell: dict[str, str]) -> None:
    for name, step in (("water_l", 10), ("feed_kg", 10), ("eggs", 100)):
        if cell[name]:
            value = round(float(cell[name]) / step) * step
            cell[name] = str(int(value))


def _typo(cell: dict[str, str], rng: np.random.Generator, farm_kind: str) -> None:
    names = ["water_l", "feed_kg"] + (["eggs"] if farm_kind == "layer" else [])
    name = names[int(rng.integers(len(names)))]
    value = float(cell[name])
    if name == "eggs" and rng.random() < 0.5:
        # The next number typed straight after this one: 4409 -> 4409.3040.
        cell[name] = f"{int(value)}.{int(rng.integers(1000, 10000))}"
    elif rng.random() < 0.5:
        cell[name] = f"{value * 10:.0f}" if name == "eggs" else f"{value * 10:.1f}"
    else:
        cell[name] = f"{value / 10:.0f}" if name == "eggs" else f"{value / 10:.2f}"
