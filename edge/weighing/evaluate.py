"""Score weigher output against ground-truth visits (benchmarks and tests only)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import numpy as np

from edge.weighing.engine import WeighResult
from edge.weighing.summary import local_date


class TrueVisit(Protocol):
    @property
    def start_ms(self) -> int: ...
    @property
    def end_ms(self) -> int: ...
    @property
    def weights_g(self) -> tuple[float, ...]: ...
    @property
    def kind(self) -> str: ...


@dataclass(frozen=True)
class Score:
    visits: int
    single_visits: int
    multi_visits: int
    accepted: int
    per_bird_median_abs_error_g: float
    per_bird_mean_abs_error_g: float
    per_bird_p95_abs_error_g: float
    single_visit_recall: float
    multi_bird_rejected: float
    false_accepts: int  # accepted weights from multi/jump/peck visits or from nowhere
    daily_mean_rel_error: float  # worst day
    per_day: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def score(results: Sequence[WeighResult], truth: Sequence[TrueVisit], utc_offset_h: float = 8.0,
          min_day_count: int = 20) -> Score:
    visits = sorted(truth, key=lambda v: v.start_ms)
    starts = np.array([v.start_ms for v in visits], dtype=np.int64)
    accepted = [r for r in results if r.accepted and r.net_g is not None]
    errors: list[float] = []
    hit_single: set[int] = set()
    hit_multi: set[int] = set()
    false_accepts = 0
    measured_by_day: dict[date, list[float]] = defaultdict(list)
    for r in accepted:
        assert r.net_g is not None
        measured_by_day[local_date(r.ts_ms, utc_offset_h)].append(r.net_g)
        i = int(np.searchsorted(starts, r.ts_ms, side="right")) - 1
        if i < 0 or r.ts_ms > visits[i].end_ms:
            false_accepts += 1
            continue
        v = visits[i]
        if v.kind == "single":
            hit_single.add(i)
            errors.append(abs(r.net_g - v.weights_g[0]))
        else:
            false_accepts += 1
            if v.kind == "multi":
                hit_multi.add(i)
    true_by_day: dict[date, list[float]] = defaultdict(list)
    for v in visits:
        if v.kind == "single":
            true_by_day[local_date(v.start_ms, utc_offset_h)].append(v.weights_g[0])
    per_day = []
    worst = 0.0
    for d in sorted(true_by_day):
        measured = measured_by_day.get(d, [])
        true_mean = float(np.mean(true_by_day[d]))
        row: dict[str, Any] = {"date": d.isoformat(), "true_mean_g": round(true_mean, 1),
                               "true_count": len(true_by_day[d]), "count": len(measured)}
        if len(measured) >= min_day_count:
            rel = abs(float(np.mean(measured)) - true_mean) / true_mean
            row.update(mean_g=round(float(np.mean(measured)), 1), rel_error=round(rel, 5))
            worst = max(worst, rel)
        per_day.append(row)
    singles = sum(v.kind == "single" for v in visits)
    multis = sum(v.kind == "multi" for v in visits)
    err = np.array(errors) if errors else np.array([np.nan])
    return Score(
        visits=len(visits),
        single_visits=singles,
        multi_visits=multis,
        accepted=len(accepted),
        per_bird_median_abs_error_g=round(float(np.median(err)), 2),
        per_bird_mean_abs_error_g=round(float(np.mean(err)), 2),
        per_bird_p95_abs_error_g=round(float(np.percentile(err, 95)), 2),
        single_visit_recall=round(len(hit_single) / singles, 4) if singles else 0.0,
        multi_bird_rejected=round(1 - len(hit_multi) / multis, 4) if multis else 1.0,
        false_accepts=false_accepts,
        daily_mean_rel_error=round(worst, 5),
        per_day=per_day,
    )
