"""Stable-segment detection on a calibrated load signal (pure numpy).

A sample window is stable when its standard deviation is small relative to the load it
carries (a resting bird shifts more grams than an empty platform). Maximal runs of stable
windows become segments; each segment's level is the median of its samples, so a brief
wobble inside it does not move the estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Segment:
    start: int  # first sample index (inclusive)
    end: int  # last sample index (exclusive)
    start_ms: int
    end_ms: int
    level_g: float

    @property
    def duration_s(self) -> float:
        return (self.end_ms - self.start_ms) / 1000.0


@dataclass(frozen=True)
class StabilityParams:
    window: int = 8  # samples per window (0.8 s at 10 Hz)
    abs_sd_g: float = 2.5  # allowed SD on an empty platform
    rel_sd: float = 0.012  # extra SD allowed per gram of load
    min_samples: int = 10  # shortest segment kept
    max_gap_ms: int = 1000  # a hole in the stream longer than this splits segments


def stable_segments(
    ts_ms: npt.NDArray[np.int64],
    grams: npt.NDArray[np.float64],
    reference_g: float,
    params: StabilityParams,
) -> list[Segment]:
    """Segments of `grams` whose rolling SD stays under the load-dependent threshold.

    `reference_g` is the current tare estimate; the load of a window is its mean minus it.
    """
    n = len(grams)
    w = params.window
    if n < max(w, params.min_samples):
        return []
    x = grams - reference_g  # centre before squaring: keeps the cumsum variance exact
    c1 = np.concatenate(([0.0], np.cumsum(x)))
    c2 = np.concatenate(([0.0], np.cumsum(x * x)))
    s1 = c1[w:] - c1[:-w]
    s2 = c2[w:] - c2[:-w]
    mean = s1 / w
    var = np.maximum(s2 / w - mean * mean, 0.0)
    limit = params.abs_sd_g + params.rel_sd * np.abs(mean)
    stable = var <= limit * limit
    gaps = np.flatnonzero(np.diff(ts_ms) > params.max_gap_ms)
    for g in gaps:  # every window spanning the hole is unstable
        stable[max(0, g - w + 2) : g + 1] = False
    return _runs_to_segments(stable, ts_ms, grams, params)


def _runs_to_segments(
    stable: npt.NDArray[np.bool_],
    ts_ms: npt.NDArray[np.int64],
    grams: npt.NDArray[np.float64],
    params: StabilityParams,
) -> list[Segment]:
    w = params.window
    padded = np.concatenate(([False], stable, [False])).astype(np.int8)
    edges = np.diff(padded)
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)  # exclusive window index
    segments: list[Segment] = []
    prev_end = 0
    for first, last in zip(starts, stops, strict=True):
        start = max(int(first), prev_end)
        end = int(last) - 1 + w
        if end - start < params.min_samples:
            continue
        level = float(np.median(grams[start:end]))
        segments.append(Segment(start, end, int(ts_ms[start]), int(ts_ms[end - 1]), level))
        prev_end = end
    return segments


# A hanging pan swings for seconds after a bird hops in: a longer window and a looser
# load-relative SD let its (oscillating, steady-mean) rest count as stable. Measured in
# docs/results.md.
PROFILES: dict[str, StabilityParams] = {
    "platform": StabilityParams(),
    "hanging": StabilityParams(window=10, rel_sd=0.025),
}
