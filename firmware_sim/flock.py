"""A flock of individual birds: weights, sexes, deaths, water and activity.

Each bird keeps a sex and a fixed size factor; its weight is the breed standard for its
sex at the flock's *physiological* age, so disease or heat that slows gain makes the whole
flock fall behind the table the way real flocks do. Pure: a seeded Generator is passed in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from farming.climate import DEFAULT_LIMITS
from farming.growth import UNIFORMITY_BAND
from firmware_sim.breeds import Breed, daily_feed_g, sex_weight_g
from firmware_sim.events import FlockEffects

log = logging.getLogger(__name__)

SIZE_FACTOR_SIGMA = 0.08  # with sex dimorphism gives CV ≈ 8 % early, ≈ 12 % at slaughter age


@dataclass
class DayResult:
    day_age: int
    deaths: int
    culled: int
    birds_alive: int
    mean_weight_g: float
    cv_pct: float
    uniformity_pct: float
    feed_kg: float
    water_l: float


@dataclass
class Flock:
    flock_id: str
    breed: Breed
    placed: int
    day_age: float  # calendar age in days
    male: np.ndarray
    size: np.ndarray
    alive: np.ndarray
    phys_age: float  # age on the growth curve; lags day_age when gain is impaired
    housing: str = "commercial"  # "commercial" or "backyard"
    history: list[DayResult] = field(default_factory=list)

    @classmethod
    def place(
        cls,
        flock_id: str,
        breed: Breed,
        birds: int,
        rng: np.random.Generator,
        *,
        day_age: float = 0.0,
        housing: str = "commercial",
        male_share: float = 0.5,
    ) -> Flock:
        if birds <= 0:
            raise ValueError(f"flock {flock_id}: birds must be positive, got {birds}")
        male = rng.random(birds) < male_share
        sigma = SIZE_FACTOR_SIGMA
        size = rng.lognormal(-sigma**2 / 2, sigma, birds)
        return cls(
            flock_id, breed, birds, float(day_age), male, size,
            np.ones(birds, dtype=bool), float(day_age), housing,
        )

    # -- state ---------------------------------------------------------------------------
    @property
    def birds_alive(self) -> int:
        return int(self.alive.sum())

    def weights_g(self, day_age: float | None = None) -> np.ndarray:
        """Current weight of every bird (dead ones included; mask with `alive`)."""
        age = self.phys_age if day_age is None else self.phys_age + (day_age - self.day_age)
        return np.asarray(sex_weight_g(self.breed, age, self.male) * self.size)

    def alive_weights_g(self, day_age: float | None = None) -> np.ndarray:
        return np.asarray(self.weights_g(day_age)[self.alive])

    def mean_weight_g(self) -> float:
        w = self.alive_weights_g()
        return float(w.mean()) if w.size else 0.0

    # -- one day -------------------------------------------------------------------------
    def baseline_hazard(self) -> float:
        """Daily death probability without disease: high in the first week, then flat."""
        base = self.breed.baseline_deaths_per_10k / 10_000.0
        if self.housing == "backyard":
            base *= 2.5
        early = 1.0 + 14.0 * np.exp(-self.day_age / 2.5)  # starter losses, days 0-5
        return float(base * early)

    def fast_forward(self, days: int, rng: np.random.Generator) -> int:
        """Age an undisturbed flock by `days` in one draw per bird; returns the deaths.

        Used to set up flocks already in the house when a run starts.
        """
        total_hazard = 0.0
        for _ in range(days):
            total_hazard += self.baseline_hazard()
            self.day_age += 1.0
        self.phys_age += float(days)
        alive_idx = np.flatnonzero(self.alive)
        weakness = np.clip(1.6 - 0.6 * self.size[alive_idx], 0.5, 1.5)
        dies = rng.random(alive_idx.size) < 1.0 - np.exp(-total_hazard * weakness)
        self.alive[alive_idx[dies]] = False
        return int(dies.sum())

    def step_day(
        self,
        rng: np.random.Generator,
        *,
        extra_hazard: float = 0.0,
        gain_factor: float = 1.0,
        intake_factor: float = 1.0,
        water_factor: float = 1.0,
        cull: int = 0,
    ) -> DayResult:
        """Advance one day: deaths, growth, feed and water. Factors come from events/climate."""
        before = self.weights_g()
        hazard = min(1.0, self.baseline_hazard() + max(0.0, extra_hazard))
        alive_idx = np.flatnonzero(self.alive)
        # Weak (small) birds die a little more often than big ones.
        weakness = np.clip(1.6 - 0.6 * self.size[alive_idx], 0.5, 1.5)
        dies = rng.random(alive_idx.size) < np.clip(hazard * weakness, 0.0, 1.0)
        died = alive_idx[dies]
        self.alive[died] = False
        culled = 0
        if cull > 0:
            remaining = np.flatnonzero(self.alive)
            take = rng.choice(remaining, size=min(cull, remaining.size), replace=False)
            self.alive[take] = False
            culled = int(take.size)
        self.day_age += 1.0
        self.phys_age += float(np.clip(gain_factor, 0.0, 1.5))
        after = self.weights_g()
        live = self.alive
        gain = (after - before)[live]
        mean_w = float(after[live].mean()) if live.any() else 0.0
        feed = daily_feed_g(after[live], gain) * intake_factor
        water_l = float(feed.sum() * self.breed.water_feed_ratio * water_factor / 1000.0)
        result = DayResult(
            day_age=int(round(self.day_age)),
            deaths=int(died.size),
            culled=culled,
            birds_alive=self.birds_alive,
            mean_weight_g=mean_w,
            cv_pct=cv_pct(after[live]),
            uniformity_pct=uniformity_pct(after[live]),
            feed_kg=float(feed.sum() / 1000.0),
            water_l=water_l,
        )
        self.history.append(result)
        return result

    def scale_propensity(self, day_age: float | None = None) -> np.ndarray:
        """Relative chance each live bird steps on a platform scale.

        After week 4 heavy broilers rest more and use the platform less, the heaviest least,
        which is why automatic weighing reads low late in the crop.
        """
        w = self.alive_weights_g(day_age)
        age = self.day_age if day_age is None else day_age
        if w.size == 0:
            return w
        late = max(0.0, age - 28.0) / 14.0 if self.breed.kind == "broiler" else 0.0
        z = (w - w.mean()) / max(float(w.std()), 1e-9)
        return np.asarray(np.exp(-0.35 * late * z))

    def scale_use_rate(self, day_age: float | None = None) -> float:
        """Visits per bird per lit hour, falling after week 4 for broilers."""
        age = self.day_age if day_age is None else day_age
        if self.breed.kind == "broiler":
            return 0.03 * max(0.35, 1.0 - 0.04 * max(0.0, age - 28.0))
        return 0.03


def cv_pct(weights: np.ndarray) -> float:
    if weights.size < 2:
        return 0.0
    return float(100.0 * weights.std(ddof=1) / weights.mean())


def uniformity_pct(weights: np.ndarray) -> float:
    """Share of birds within ±10 % of the mean (≥ 80 % is a good flock)."""
    if weights.size == 0:
        return 0.0
    mean = weights.mean()
    return float(100.0 * np.mean(np.abs(weights - mean) <= UNIFORMITY_BAND * mean))


# Share of the day's water drawn in each local hour while lights are on, with the dawn and
# pre-dark peaks seen on drinker meters; the dark hours get a small remainder.
def hourly_water_shares(lit: np.ndarray) -> np.ndarray:
    """24 weights summing to 1 given a 24-element lights-on mask (local hours 0..23)."""
    lit = np.asarray(lit, dtype=bool)
    weights = np.where(lit, 1.0, 0.04)
    if lit.any() and not lit.all():
        on = np.flatnonzero(lit & ~np.roll(lit, 1))  # first lit hour(s)
        off = np.flatnonzero(lit & ~np.roll(lit, -1))  # last lit hour(s)
        for i in on:
            weights[i] += 0.8
            weights[(i + 1) % 24] += 0.4
        for i in off:
            weights[i] += 0.7
            weights[(i - 1) % 24] += 0.4
    return np.asarray(weights / weights.sum())


def activity_index(lit: bool, day_age: float, sick: float = 0.0, heat_stress: float = 0.0) -> float:
    """0..1 movement level: birds rest in the dark, heavy birds rest more, sick ones move less."""
    if not lit:
        return 0.05
    base = 0.8 - 0.3 * min(1.0, max(0.0, day_age - 21.0) / 21.0)
    return float(max(0.0, base * (1.0 - 0.7 * sick) * (1.0 - 0.4 * heat_stress)))


def heat_effects(thi_hours: np.ndarray, target_c: float, mean_weight_g: float,
                 tolerance_c: float = 0.0) -> FlockEffects:
    """A day's heat load on the flock from its hourly THI.

    Bands (Tao & Xin 2003) are for grown broilers; younger birds are comfortable as much warmer
    as their target temperature is above the grown bird's 20.7 °C, and slow-growing local
    breeds by `tolerance_c` more. Heat stroke is steeply non-linear in the excess over the
    emergency band and hits heavy birds hardest.
    """
    limits = DEFAULT_LIMITS
    shift = max(0.0, target_c - limits.target_curve[-1][1]) + tolerance_c
    excess_alert = np.maximum(0.0, np.asarray(thi_hours) - (limits.thi_alert + shift))
    excess_emergency = np.maximum(0.0, np.asarray(thi_hours) - (limits.thi_emergency + shift))
    load = float(excess_alert.sum() / 24.0)
    kg = mean_weight_g / 1000.0
    dose = 4.8e-5 * float((excess_emergency**2.5).sum()) * kg**1.5
    hazard = float(1.0 - np.exp(-dose))
    return FlockEffects(
        extra_hazard=hazard,
        gain_factor=max(0.3, 1.0 - 0.08 * load),
        intake_factor=max(0.4, 1.0 - 0.06 * load),
        water_factor=1.0 + min(0.5, 0.04 * load),
        sick_share=0.0,
    )


def cold_effects(temp_hours: np.ndarray, target_c: float, mean_weight_g: float,
                 tolerance_c: float = 0.0) -> FlockEffects:
    """Chilling: birds far below their target temperature burn feed to keep warm (gain falls,
    intake rises); young birds huddle and some pile and die."""
    target_c -= tolerance_c
    gap = np.maximum(0.0, (target_c - 6.0) - np.asarray(temp_hours))
    load = float(gap.sum() / 24.0)
    young = max(0.0, 1.0 - mean_weight_g / 600.0)
    severe = np.maximum(0.0, (target_c - 10.0) - np.asarray(temp_hours))
    dose = 5e-5 * float((severe**2).sum()) * young
    return FlockEffects(
        extra_hazard=float(1.0 - np.exp(-dose)),
        gain_factor=max(0.5, 1.0 - 0.03 * load),
        intake_factor=1.0 + min(0.3, 0.02 * load),
        water_factor=1.0,
    )
