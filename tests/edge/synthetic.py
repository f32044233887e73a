"""Small synthetic load-cell signals for weighing tests (independent of firmware_sim)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

T0 = 1_780_000_000_000  # 2026-05-28, event time
HZ = 10.0
ZERO = 84_000.0
CPG = 21.5


@dataclass(frozen=True)
class Truth:
    start_ms: int
    end_ms: int
    weights_g: tuple[float, ...]
    kind: str


def build(events: Sequence[tuple[str, float, tuple[float, ...]]], *, gap_s: float = 20.0, seed: int = 0,
          drift_g_per_h: float = 0.0, noise_g: float = 1.0) -> tuple[np.ndarray, np.ndarray, list[Truth]]:
    """events: (kind, dwell_s, weights) in order, separated by `gap_s` of empty platform.

    kinds: single (one bird), multi (first bird, second joins halfway, first leaves),
    jump (a short hop, no rest), lean (a bird with a fraction of its weight on the edge).
    """
    rng = np.random.default_rng(seed)
    loads: list[np.ndarray] = [np.zeros(int(gap_s * HZ))]
    truth: list[Truth] = []
    t = len(loads[0])
    for kind, dwell_s, weights in events:
        n = int(dwell_s * HZ)
        w = weights[0]
        if kind == "single":
            body = w * (1 + rng.normal(0, 0.004, n))
            load = np.concatenate((np.linspace(0, w, 6), body, np.linspace(w, 0, 5)))
        elif kind == "multi":
            w2 = weights[1]
            body = np.full(n, w, dtype=float)
            body[n // 3 :] += w2
            body[2 * n // 3 :] -= w
            load = np.concatenate((np.linspace(0, w, 6), body, np.linspace(w2, 0, 5)))
        elif kind == "multi_noisy":  # the two-bird moment never settles (a swinging pan)
            w2 = weights[1]
            body = np.full(n, w, dtype=float)
            m = 2 * n // 3 - n // 3
            body[n // 3 : 2 * n // 3] += w2 + 0.2 * w2 * np.sin(np.arange(m) * 1.5)
            load = np.concatenate((np.linspace(0, w, 6), body, np.linspace(w, 0, 5)))
        elif kind == "jump":
            load = 1.8 * w * np.sin(np.linspace(0, np.pi, max(n, 3)))
        elif kind == "lean":
            load = np.concatenate((np.linspace(0, 0.4 * w, 6), np.full(n, 0.4 * w), np.linspace(0.4 * w, 0, 5)))
        else:
            raise ValueError(kind)
        truth.append(Truth(_ms(t), _ms(t + len(load)), weights, kind))
        t += len(load) + int(gap_s * HZ)
        loads += [load, np.zeros(int(gap_s * HZ))]
    grams = np.concatenate(loads)
    ts = T0 + (np.arange(len(grams)) * 1000 / HZ).astype(np.int64)
    grams = grams + drift_g_per_h * (ts - T0) / 3_600_000 + rng.normal(0, noise_g, len(grams))
    raw = np.round(ZERO + grams * CPG).astype(np.int32)
    return ts, raw, truth


def _ms(i: int) -> int:
    return int(T0 + i * 1000 / HZ)
