"""Streaming per-bird weighing: raw load-cell counts in, accepted weights out.

A visit is everything between two empty-platform segments. Its weight is the stable
loaded level minus the tare interpolated across the visit (zero drifts with temperature).
Visits with two different loaded levels (a second bird stepped on, or one of two left),
with no stable loaded level (a jump, a scuffle) or outside the acceptance window are
rejected and counted by reason. The buffer keeps only the current visit and a short tail
of the last empty segment, so memory stays flat however long the stream runs.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from edge.weighing.acceptance import AcceptanceWindow
from edge.weighing.segments import Segment, StabilityParams, stable_segments

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Calibration:
    zero_offset: float = 84_000.0
    counts_per_gram: float = 21.5

    def __post_init__(self) -> None:
        if self.counts_per_gram == 0:
            raise ValueError("counts_per_gram must not be zero")


@dataclass(frozen=True)
class VisitParams:
    empty_frac: float = 0.25  # |level - tare| below this share of the expected weight is empty
    empty_min_g: float = 8.0
    empty_max_g: float = 150.0
    level_abs_g: float = 5.0  # loaded levels within this (or level_rel) are one bird
    level_rel: float = 0.03
    min_loaded_s: float = 1.5  # a bird must rest this long to be weighed
    second_bird_rel: float = 1.6  # load above this multiple of the bird, held for second_bird_s,
    second_bird_s: float = 1.0  # is a second bird (a jump's peak or a landing bounce is shorter)
    lean_rel: float = 0.08  # a lower level by up to this share is a wing on the rim, not a bird leaving
    drift_g: float = 2.0  # tare change across a visit up to this is drift; beyond, debris
    max_tare_shift_rel: float = 0.25  # tare moving more than this share of the weight = disturbed
    retare_s: float = 1800.0  # a loaded level held this long is new dead load, not a bird
    min_gap_samples: int = 3  # a shorter unsettled gap is an EMI spike, not a visit
    keep_empty_s: float = 30.0  # tail of an empty segment kept as the next tare
    max_buffer_s: float = 3600.0


@dataclass(frozen=True)
class WeighResult:
    ts_ms: int
    net_g: float | None
    dwell_s: float
    accepted: bool
    reason: str  # "ok" or why it was rejected


@dataclass
class WeighStats:
    accepted: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    retares: int = 0
    tare_steps: int = 0
    leans: int = 0
    bad_samples: int = 0


class Weigher:
    """Feed chunks of the raw stream in time order; get visit outcomes back."""

    def __init__(
        self,
        calibration: Calibration,
        window: AcceptanceWindow,
        stability: StabilityParams | None = None,
        visits: VisitParams | None = None,
    ) -> None:
        self.calibration = calibration
        self.window = window
        self.stability = stability or StabilityParams()
        self.params = visits or VisitParams()
        self.stats = WeighStats()
        self._ts = np.zeros(0, dtype=np.int64)
        self._g = np.zeros(0, dtype=np.float64)
        self._tare: float | None = None

    @property
    def tare_g(self) -> float | None:
        return self._tare

    def feed(self, ts_ms: npt.ArrayLike, raw: npt.ArrayLike) -> list[WeighResult]:
        ts = np.asarray(ts_ms, dtype=np.int64)
        counts = np.asarray(raw, dtype=np.float64)
        if ts.shape != counts.shape or ts.ndim != 1:
            raise ValueError(f"ts and raw must be equal 1-d arrays, got {ts.shape} and {counts.shape}")
        ok = np.isfinite(counts)
        if len(self._ts) and len(ts):
            ok &= ts > self._ts[-1]
        if len(ts) > 1:  # out-of-order samples inside the chunk
            ok[1:] &= np.diff(ts) > 0
        if not ok.all():
            self.stats.bad_samples += int((~ok).sum())
            ts, counts = ts[ok], counts[ok]
        grams = (counts - self.calibration.zero_offset) / self.calibration.counts_per_gram
        self._ts = np.concatenate((self._ts, ts))
        self._g = np.concatenate((self._g, grams))
        return self._process()

    def _empty_tol(self, ts_ms: int) -> float:
        p = self.params
        return min(max(p.empty_frac * self.window.curve.at(ts_ms), p.empty_min_g), p.empty_max_g)

    def _process(self) -> list[WeighResult]:
        n = len(self._g)
        if n == 0:
            return []
        ref = self._tare if self._tare is not None else float(np.median(self._g[: min(n, 50)]))
        segments = stable_segments(self._ts, self._g, ref, self.stability)
        results: list[WeighResult] = []
        anchor: Segment | None = None
        pending: list[Segment] = []
        for seg in segments:
            final = seg.end < n  # the last run may still grow
            if self._tare is None:
                if seg.duration_s >= self.params.min_loaded_s:
                    self._tare = seg.level_g  # first stable rest: assume an empty platform
                    anchor = seg
                continue
            net = seg.level_g - self._tare
            tol = self._empty_tol(seg.start_ms)
            if net < -tol or abs(net) <= tol:
                if net < -tol:  # lighter than empty: the tare was wrong, not a bird
                    self.stats.retares += 1
                if anchor is not None and (pending or seg.start - anchor.end >= self.params.min_gap_samples):
                    results.append(self._judge(anchor, pending, seg))
                self._tare = seg.level_g
                anchor, pending = seg, []
            elif final or seg.duration_s >= self.params.retare_s:
                if seg.duration_s >= self.params.retare_s:
                    self.stats.retares += 1
                    log.info("scale: re-tared to %.1f g after %.0f s of constant load", seg.level_g, seg.duration_s)
                    self._tare = seg.level_g
                    anchor, pending = seg, []
                else:
                    pending.append(seg)
        self._trim(anchor, segments)
        return results

    def _trim(self, anchor: Segment | None, segments: list[Segment]) -> None:
        n = len(self._g)
        keep = int(self.params.keep_empty_s * 1000)
        if anchor is not None:
            cut = anchor.start
            tail_start = np.searchsorted(self._ts, self._ts[anchor.end - 1] - keep)
            cut = max(cut, int(tail_start))
        elif self._ts[-1] - self._ts[0] > self.params.max_buffer_s * 1000:
            self.stats.rejected["overlong"] += 1
            cut = segments[-1].start if segments else n
        else:
            return
        if cut > 0:
            self._ts = self._ts[cut:]
            self._g = self._g[cut:]

    def _judge(self, before: Segment, loaded: list[Segment], after: Segment) -> WeighResult:
        p = self.params
        dwell = max(0.0, (after.start_ms - before.end_ms) / 1000.0)
        if not loaded or sum(s.duration_s for s in loaded) < p.min_loaded_s:
            return self._reject(before.end_ms, None, dwell, "unstable")
        main = max(loaded, key=lambda s: s.duration_s)
        main_net = main.level_g - before.level_g
        tol = max(p.level_abs_g, p.level_rel * abs(main_net))
        lean = max(tol, p.lean_rel * abs(main_net))
        same = [s for s in loaded if abs(s.level_g - main.level_g) <= tol]
        for s in loaded:
            # Higher than the main level, or far lower: another bird came or went.
            if s.level_g > main.level_g + tol or s.level_g < main.level_g - lean:
                return self._reject(loaded[0].start_ms, main_net, dwell, "multi_level")
        # Two birds whose shared moment never settled: a long stretch far above this level.
        between = self._g[before.end : after.start] - before.level_g
        heavy_ms = int((between > p.second_bird_rel * main_net).sum()) * self._period_ms()
        if main_net > 0 and heavy_ms >= p.second_bird_s * 1000:
            return self._reject(loaded[0].start_ms, main_net, dwell, "multi_unsettled")
        if len(same) < len(loaded):
            self.stats.leans += 1  # a wing on the rim took a few % for a moment: ignore it
        durations = np.array([s.duration_s for s in same])
        level = float(np.average([s.level_g for s in same], weights=durations))
        shift = after.level_g - before.level_g
        if abs(shift) <= p.drift_g:
            # Zero drift only: interpolate the tare across the visit.
            mid_ms = 0.5 * (same[0].start_ms + same[-1].end_ms)
            span = max(after.start_ms - before.end_ms, 1)
            frac = min(max((mid_ms - before.end_ms) / span, 0.0), 1.0)
            net = level - (before.level_g + frac * shift)
        else:
            # Droppings or litter left (or scratched off) as the bird stepped down: the
            # on-step, against the tare before the visit, is the bird.
            net = level - before.level_g
            if abs(shift) > p.max_tare_shift_rel * abs(net):
                return self._reject(loaded[0].start_ms, net, dwell, "tare_shift")
            self.stats.tare_steps += 1
        ts = loaded[0].start_ms
        reason = self.window.judge(net, ts)
        if reason is not None:
            return self._reject(ts, net, dwell, reason)
        self.window.learn(ts, net)
        self.stats.accepted += 1
        return WeighResult(ts, net, dwell, True, "ok")

    def _period_ms(self) -> int:
        if len(self._ts) < 2:
            return 100
        return max(1, int((self._ts[-1] - self._ts[0]) / (len(self._ts) - 1)))

    def _reject(self, ts: int, net: float | None, dwell: float, reason: str) -> WeighResult:
        self.stats.rejected[reason] += 1
        return WeighResult(ts, net, dwell, False, reason)
