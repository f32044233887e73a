"""Disease and weather events as they show in a farm's daily book: deaths, eggs, water, feed, weight.

Each event is a day-by-day signature from its onset: an extra daily death rate and factors on
water, feed, eggs and weight gain. Shapes follow the usual field picture:
- HPAI: losses that double every day or so from a fraction of a percent, intake and lay collapsing;
- Newcastle disease (ND): losses of 0.3-1 %/day for a week or more, lay down 30-50 %;
- coccidiosis (growing birds): losses of 0.1-0.4 %/day, feed and gain down;
- egg-drop syndrome (EDS, adenovirus): lay falls 20-40 % over days, birds otherwise well;
- heat wave: birds drink up to twice as much, eat and lay less, heavy broilers die.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

EVENT_KINDS = ("hpai", "nd", "coccidiosis", "eds", "heat")
# Kinds that only make sense in a laying flock.
LAYER_ONLY = frozenset({"eds"})


@dataclass(frozen=True)
class Signature:
    """Per-day effect of an event, index 0 = onset day; arrays have the event's length."""

    death_rate: np.ndarray  # extra share of the flock dying that day
    water: np.ndarray  # factor on the day's water
    feed: np.ndarray
    eggs: np.ndarray
    gain: np.ndarray  # factor on the day's weight gain

    @property
    def days(self) -> int:
        return int(self.death_rate.size)


def signature(kind: str, flock_kind: str, age_days: int, rng: np.random.Generator) -> Signature:
    """The day-by-day signature of `kind` in a `flock_kind` flock of `age_days` at onset."""
    if kind == "hpai":
        n = 6
        d = np.arange(n)
        rate = np.minimum(0.003 * np.exp(rng.uniform(0.8, 1.1) * d), 0.3)
        intake = np.maximum(1 - rng.uniform(0.12, 0.2) * (d + 1), 0.35)
        return Signature(rate, intake, intake, np.maximum(1 - 0.2 * (d + 1), 0.15), intake)
    if kind == "nd":
        n = 10
        d = np.arange(n)
        peak = rng.uniform(0.006, 0.012)
        rate = peak * np.minimum((d + 1) / 3, 1.0) * np.where(d > 6, 0.6, 1.0)
        intake = np.full(n, rng.uniform(0.75, 0.85))
        lay = np.maximum(1 - rng.uniform(0.15, 0.2) * (d + 1), rng.uniform(0.5, 0.7))
        return Signature(rate, intake, intake, lay, np.full(n, 0.5))
    if kind == "coccidiosis":
        n = 8
        d = np.arange(n)
        rate = rng.uniform(0.002, 0.004) * np.minimum((d + 1) / 2, 1.0)
        feed = np.full(n, rng.uniform(0.8, 0.88))
        return Signature(rate, feed + 0.05, feed, np.full(n, 0.95), np.full(n, 0.5))
    if kind == "eds":
        n = 28
        d = np.arange(n)
        floor = rng.uniform(0.6, 0.75)
        lay = np.maximum(1 - rng.uniform(0.1, 0.13) * (d + 1), floor)
        return Signature(np.zeros(n), np.ones(n), np.ones(n), lay, np.ones(n))
    if kind == "heat":
        n = 5
        peak = rng.uniform(1.7, 1.9)
        water = np.array([1.5, peak, peak, peak - 0.1, 1.3])
        # Heavy broilers cannot shed heat: they die; layers and hardy local birds mostly cope.
        heavy = flock_kind == "broiler" and age_days >= 28
        base = 0.015 if heavy else (0.002 if flock_kind == "layer" else 0.0008)
        rate = base * np.array([0.5, 1.0, 1.0, 0.6, 0.2])
        return Signature(rate, water, np.full(n, 0.8), np.full(n, 0.85), np.full(n, 0.6))
    raise ValueError(f"unknown event {kind!r}; known: {', '.join(EVENT_KINDS)}")


def parse_event(text: str) -> tuple[str, int]:
    """`KIND@DAY` (day index from the first recorded day) -> (kind, day)."""
    kind, sep, at = text.partition("@")
    if not sep or kind not in EVENT_KINDS or not at.isdigit():
        raise ValueError(f"event {text!r}: use KIND@DAY with KIND one of {', '.join(EVENT_KINDS)}")
    return kind, int(at)
