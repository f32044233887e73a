"""A platform scale's load cell: raw HX711-like counts at ≥ 10 Hz, plus the truth of every visit.

Birds step on with a ramp and an overshoot, dwell seconds to minutes while shifting and
pecking, sometimes jump straight off, lean on the edge, or share the platform. Under them the
cell has white noise, rare EMI spikes, a wandering zero and a temperature coefficient, so an
honest weigher must track tare itself. Contract: firmware_sim/DEVICES.md §3.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from firmware_sim.breeds import get_breed
from firmware_sim.clock import MS_PER_DAY, epoch_ms, to_datetime
from firmware_sim.flock import Flock
from firmware_sim.lighting import LOCAL_UTC_OFFSET_H, lights_on, local_hour

log = logging.getLogger(__name__)

RAW_MIN = -(2**23)
RAW_MAX = 2**23 - 1
VISIT_KINDS = ("single", "multi", "jump", "peck")
DEFAULT_START = date(2026, 5, 1)


@dataclass(frozen=True)
class ScaleParams:
    kind: str = "platform"  # or "hanging": a pan on a load cell that bounces and swings
    zero_offset: int = 84_000
    counts_per_gram: float = 21.5
    noise_g: float = 1.0
    zero_drift_g_per_sqrt_day: float = 4.0
    temp_coeff_g_per_c: float = 0.4  # zero shift per °C away from 20 °C
    spikes_per_hour: float = 1.5
    max_visits_per_hour: float = 40.0  # platform crowding limit
    half_saturation_birds: float = 800.0
    join_probability: float = 0.3  # a second bird steps onto an occupied platform
    jump_share: float = 0.08
    peck_share: float = 0.10


@dataclass(frozen=True)
class Visit:
    start_ms: int
    end_ms: int
    weights_g: tuple[float, ...]
    kind: str  # single | multi | jump | peck; only `single` is a true per-bird weight


@dataclass
class ScaleRun:
    ts_ms: np.ndarray  # int64 epoch ms
    raw: np.ndarray  # int32 counts
    zero_offset: int
    counts_per_gram: float
    placed_on: date
    visits: list[Visit]
    breed: str = "ross308"
    hz: float = 10.0

    def grams(self) -> np.ndarray:
        """Calibrated load, before any tare tracking (so drift is still in it)."""
        return (self.raw.astype(np.float64) - self.zero_offset) / self.counts_per_gram

    def save(self, path: Path) -> tuple[Path, Path]:
        """`path` (.npz arrays + calibration) and `path.visits.json` (ground truth)."""
        path = Path(path)
        with path.open("wb") as fh:
            np.savez_compressed(
                fh, ts_ms=self.ts_ms, raw=self.raw,
                zero_offset=np.int64(self.zero_offset),
                counts_per_gram=np.float64(self.counts_per_gram), hz=np.float64(self.hz),
            )
        truth = Path(f"{path}.visits.json")
        truth.write_text(json.dumps({
            "breed": self.breed, "placed_on": self.placed_on.isoformat(), "hz": self.hz,
            "zero_offset": self.zero_offset, "counts_per_gram": self.counts_per_gram,
            "visits": [asdict(v) for v in self.visits],
        }, indent=None))
        return path, truth

    @classmethod
    def load(cls, path: Path) -> ScaleRun:
        path = Path(path)
        with np.load(path) as data:
            ts, raw = data["ts_ms"], data["raw"]
        meta = json.loads(Path(f"{path}.visits.json").read_text())
        visits = [Visit(v["start_ms"], v["end_ms"], tuple(v["weights_g"]), v["kind"])
                  for v in meta["visits"]]
        return cls(ts, raw, int(meta["zero_offset"]), float(meta["counts_per_gram"]),
                   date.fromisoformat(meta["placed_on"]), visits, meta["breed"], float(meta["hz"]))


def _default_house_temp(ts_ms: np.ndarray) -> np.ndarray:
    hour = local_hour(ts_ms)
    return 24.0 + 3.0 * np.sin((hour - 9.0) / 24.0 * 2 * np.pi)


class ScaleSignal:
    """Generates the stream chunk by chunk, so a device server can run it for weeks."""

    def __init__(
        self,
        flock: Flock,
        rng: np.random.Generator,
        *,
        placed_ms: int,
        start_ms: int,
        hz: float = 10.0,
        params: ScaleParams | None = None,
        programme: str = "broiler",
        house_temp_c: Callable[[np.ndarray], np.ndarray] = _default_house_temp,
    ) -> None:
        if not hz > 0:
            raise ValueError(f"hz must be positive, got {hz}")
        if params is not None and params.kind not in ("platform", "hanging"):
            raise ValueError(f"scale kind must be platform or hanging, got {params.kind!r}")
        self.flock = flock
        self.rng = rng
        self.params = params or ScaleParams()
        self.hz = float(hz)
        self.placed_ms = int(placed_ms)
        self.start_ms = int(start_ms)
        self.programme = programme
        self.house_temp_c = house_temp_c
        self._next_index = 0
        # Load of visits that run past the end of the chunk that started them.
        self._pending = np.zeros(0)
        self._zero_g = 0.0
        self._busy_until = -1  # global sample index
        # Droppings and litter the birds leave on or kick off the platform: a tare that
        # steps, which is why weighers must re-zero between visits.
        self._debris_level = 0.0
        self._debris_steps: list[tuple[int, float]] = []

    @property
    def next_sample_ms(self) -> int:
        """Event time of the next sample `next_chunk` will return."""
        return self._ms(self._next_index)

    def _index_ms(self, idx: np.ndarray) -> np.ndarray:
        return self.start_ms + np.round(idx * (1000.0 / self.hz)).astype(np.int64)

    def next_chunk(self, n: int) -> tuple[np.ndarray, np.ndarray, list[Visit]]:
        """The next `n` samples: (ts_ms int64, raw int32, visits that start in them)."""
        p = self.params
        first = self._next_index
        idx = np.arange(first, first + n, dtype=np.int64)
        ts = self._index_ms(idx)
        day_age = (ts[0] - self.placed_ms) / MS_PER_DAY
        spill = int(self.hz * 600)  # room for a visit to run on for up to 10 minutes
        load = np.zeros(n + spill)
        carried = self._pending
        load[: carried.size] += carried[: n + spill]
        visits = self._visits(load, ts, first, day_age)
        self._pending = load[n:].copy()
        grams = load[:n] + self._background(ts, n) + self._debris(first, n)
        raw = np.clip(np.round(p.zero_offset + grams * p.counts_per_gram), RAW_MIN, RAW_MAX)
        self._next_index += n
        return ts, raw.astype(np.int32), visits

    # -- background: zero drift, temperature, noise, EMI spikes -----------------------------
    def _background(self, ts: np.ndarray, n: int) -> np.ndarray:
        p, rng = self.params, self.rng
        minutes = max(2, int(np.ceil(n / self.hz / 60.0)) + 1)
        step = p.zero_drift_g_per_sqrt_day / np.sqrt(1440.0)
        walk = self._zero_g + np.cumsum(rng.normal(0.0, step, minutes))
        walk[0] = self._zero_g
        self._zero_g = float(walk[-1])
        drift = np.interp(np.arange(n) / self.hz / 60.0, np.arange(minutes), walk)
        temp = p.temp_coeff_g_per_c * (self.house_temp_c(ts) - 20.0)
        bg = drift + temp + rng.normal(0.0, p.noise_g, n)
        spikes = rng.random(n) < p.spikes_per_hour / 3600.0 / self.hz
        bg[spikes] += rng.choice([-1.0, 1.0], int(spikes.sum())) * rng.uniform(20, 80, int(spikes.sum()))
        return bg

    def _debris(self, first: int, n: int) -> np.ndarray:
        out = np.full(n, self._debris_level)
        level = self._debris_level
        later = []
        for g, step in sorted(self._debris_steps):
            local = g - first
            if local >= n:
                later.append((g, step))
                continue
            new = max(0.0, level + step)
            out[max(0, local):] += new - level
            level = new
        self._debris_level = level
        self._debris_steps = later
        return out

    def _leave_debris(self, at: int) -> None:
        rng = self.rng
        u = rng.random()
        if u < 0.04:
            self._debris_steps.append((at, rng.uniform(3.0, 10.0)))  # a dropping
        elif u < 0.12:
            self._debris_steps.append((at, rng.uniform(1.0, 6.0)))  # litter kicked on
        elif u < 0.22:
            self._debris_steps.append((at, -rng.uniform(1.0, 8.0)))  # ... or scratched off

    # -- birds -------------------------------------------------------------------------------
    def _visits(self, load: np.ndarray, ts: np.ndarray, first: int, day_age: float) -> list[Visit]:
        p, rng, flock = self.params, self.rng, self.flock
        n = ts.size
        # Weights evaluated at the chunk's start age (a day's growth is ~5 %, chunks are short
        # in device servers; simulate_scale uses day chunks and steps the flock between them).
        weights = flock.alive_weights_g(day_age)
        if weights.size == 0:
            return []
        propensity = flock.scale_propensity(day_age)
        propensity = propensity / propensity.sum()
        birds = weights.size
        per_hour = p.max_visits_per_hour * birds / (birds + p.half_saturation_birds)
        per_hour *= flock.scale_use_rate(day_age) / 0.03
        lit = lights_on(local_hour(ts), day_age=day_age,
                        day_of_year=_doy(ts[0]), programme=self.programme)
        rate = np.where(lit, per_hour, per_hour * 0.03) / 3600.0 / self.hz
        arrivals = np.flatnonzero(rng.random(n) < rate)
        visits: list[Visit] = []
        current: int | None = None  # index into `visits` of a visit started in this chunk
        for i in arrivals:
            g = first + int(i)
            bird_w = float(weights[rng.choice(birds, p=propensity)])
            if g < self._busy_until:
                if current is None or visits[current].kind not in ("single", "multi"):
                    continue
                if rng.random() > p.join_probability:
                    continue
                length = self._add_single(load, int(i), bird_w, day_age)
                end_idx = g + length
                old = visits[current]
                self._busy_until = max(self._busy_until, end_idx)
                visits[current] = Visit(old.start_ms, max(old.end_ms, self._ms(end_idx)),
                                        (*old.weights_g, round(bird_w, 1)), "multi")
                continue
            u = rng.random()
            if u < p.jump_share:
                length, kind = self._add_jump(load, int(i), bird_w), "jump"
            elif u < p.jump_share + p.peck_share:
                length, kind = self._add_peck(load, int(i), bird_w), "peck"
            else:
                length, kind = self._add_single(load, int(i), bird_w, day_age), "single"
            self._busy_until = g + length
            self._leave_debris(g + length)
            visits.append(Visit(self._ms(g), self._ms(g + length), (round(bird_w, 1),), kind))
            current = len(visits) - 1
        return visits

    def _ms(self, global_index: int) -> int:
        return int(self.start_ms + round(global_index * 1000.0 / self.hz))

    def _samples(self, seconds: float) -> int:
        return max(1, int(round(seconds * self.hz)))

    def _add_single(self, load: np.ndarray, i: int, w: float, day_age: float) -> int:
        rng = self.rng
        # Heavy broilers late in the crop sit longer once they are on.
        median_s = 15.0 * (1.0 + max(0.0, day_age - 28.0) / 14.0)
        dwell_s = float(np.clip(rng.lognormal(np.log(median_s), 0.9), 2.0, 300.0))
        hanging = self.params.kind == "hanging"
        # Birds walk onto a platform but hop into a hanging pan.
        on = self._samples(rng.uniform(0.1, 0.3) if hanging else rng.uniform(0.3, 1.2))
        dwell = self._samples(dwell_s)
        off = self._samples(rng.uniform(0.3, 1.0))
        total = on + dwell + off
        if i + total > load.size:
            total = load.size - i
            dwell = max(0, total - on - off)
        shape = np.empty(on + dwell + off)
        # Step on: one foot (~55 %), then both with an overshoot that rings down.
        half = max(1, on // 2)
        shape[:half] = np.linspace(0.0, 0.55, half)
        shape[half:on] = np.linspace(0.55, 1.0, on - half) if on > half else []
        t = np.arange(dwell) / self.hz
        if hanging:
            # The pan bounces on the cell, then swings; the cell feels the swing at 2x its rate.
            bounce = rng.uniform(0.1, 0.3) * np.exp(-t / 1.5) * np.cos(2 * np.pi * 1.8 * t)
            swing = rng.uniform(0.005, 0.02) * np.exp(-t / 10.0) * np.cos(2 * np.pi * 1.2 * t)
            overshoot = bounce + swing
        else:
            overshoot = rng.uniform(0.03, 0.15) * np.exp(-t / 0.4) * np.cos(2 * np.pi * 2.5 * t)
        # Shifting weight: low-pass noise around 1 % of body weight.
        shift = _ar1(rng, dwell, alpha=np.exp(-1.0 / (0.8 * self.hz)), sigma=0.01)
        pecks = np.zeros(dwell)
        for start in np.flatnonzero(rng.random(dwell) < 0.1 / self.hz):
            span = self._samples(rng.uniform(0.2, 0.6))
            pecks[start : start + span] += rng.choice([-1.0, 1.0]) * rng.uniform(0.04, 0.12)
        # Now and then a wing or foot rests on the rim and takes a few % of the weight.
        if dwell > 0 and rng.random() < 0.15:
            span = min(dwell, self._samples(rng.uniform(1.0, 5.0)))
            at = int(rng.integers(0, dwell - span + 1))
            pecks[at : at + span] -= rng.uniform(0.02, 0.06) * np.hanning(span + 2)[1:-1] ** 0.3
        shape[on : on + dwell] = 1.0 + overshoot + shift + pecks
        shape[on + dwell :] = np.linspace(1.0, 0.0, off + 1)[1:] if off else []
        n = min(shape.size, load.size - i)
        load[i : i + n] += w * shape[:n]
        return n

    def _add_jump(self, load: np.ndarray, i: int, w: float) -> int:
        n = min(self._samples(self.rng.uniform(0.3, 1.0)), load.size - i)
        peak = self.rng.uniform(1.3, 2.2)
        load[i : i + n] += w * peak * np.sin(np.linspace(0.0, np.pi, n + 2)[1:-1])
        return n

    def _add_peck(self, load: np.ndarray, i: int, w: float) -> int:
        rng = self.rng
        n = min(self._samples(rng.uniform(1.0, 8.0)), load.size - i)
        level = rng.uniform(0.15, 0.6)
        wobble = _ar1(rng, n, alpha=np.exp(-1.0 / (0.3 * self.hz)), sigma=0.08)
        envelope = np.minimum(1.0, np.minimum(np.arange(1, n + 1), np.arange(n, 0, -1)) / 3.0)
        load[i : i + n] += w * np.maximum(0.0, level + wobble) * envelope
        return n


def _ar1(rng: np.random.Generator, n: int, *, alpha: float, sigma: float) -> np.ndarray:
    if n <= 0:
        return np.zeros(0)
    eps = rng.normal(0.0, sigma * np.sqrt(1 - alpha**2), n)
    out = np.empty(n)
    acc = rng.normal(0.0, sigma)
    for k in range(n):  # n is one visit's samples: short
        acc = alpha * acc + eps[k]
        out[k] = acc
    return out


def _doy(ts_ms: int) -> int:
    return int(to_datetime(int(ts_ms) + int(LOCAL_UTC_OFFSET_H * 3_600_000)).timetuple().tm_yday)


def simulate_scale(
    birds: int,
    days: int,
    breed: str,
    seed: int = 0,
    hz: float = 10.0,
    *,
    start_day_age: int = 0,
    placed_on: date = DEFAULT_START,
    params: ScaleParams | None = None,
) -> ScaleRun:
    """`days` of a platform scale under a flock of `birds`, from `start_day_age`.

    The flock loses birds at the breed's baseline rate day by day; visits record the true
    weight of each bird at that moment.
    """
    if birds <= 0 or days <= 0:
        raise ValueError(f"birds and days must be positive (got birds={birds}, days={days})")
    b = get_breed(breed)
    rng = np.random.default_rng(seed)
    flock = Flock.place("scale", b, birds, rng, day_age=0.0,
                        housing="commercial" if b.kind == "broiler" else "backyard")
    flock.fast_forward(start_day_age, rng)
    placed_ms = epoch_ms(placed_on)
    start_ms = epoch_ms(placed_on + timedelta(days=start_day_age))
    signal = ScaleSignal(flock, rng, placed_ms=placed_ms, start_ms=start_ms, hz=hz, params=params,
                         programme="broiler" if b.kind == "broiler" else "natural")
    per_day = int(round(86_400 * hz))
    ts_parts, raw_parts, visits = [], [], []
    for _ in range(days):
        ts, raw, day_visits = signal.next_chunk(per_day)
        ts_parts.append(ts)
        raw_parts.append(raw)
        visits.extend(day_visits)
        flock.step_day(rng)
    p = signal.params
    log.info("scale: %s days, %s visits, %s samples", days, len(visits), per_day * days)
    return ScaleRun(np.concatenate(ts_parts), np.concatenate(raw_parts), p.zero_offset,
                    p.counts_per_gram, placed_on, visits, breed, hz)
