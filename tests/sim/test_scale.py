"""The scale signal agrees with its own ground truth, and the file format round-trips."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from farming.growth import expected_weight_g
from firmware_sim.scale import RAW_MAX, RAW_MIN, ScaleRun, simulate_scale


@pytest.fixture(scope="module")
def run() -> ScaleRun:
    return simulate_scale(800, 1, "ross308", seed=3, start_day_age=21)


def test_stream_shape_and_calibration(run: ScaleRun) -> None:
    assert run.ts_ms.dtype == np.int64 and run.raw.dtype == np.int32
    assert run.ts_ms.size == run.raw.size == 864_000
    assert np.all(np.diff(run.ts_ms) == 100)
    assert RAW_MIN <= run.raw.min() and run.raw.max() <= RAW_MAX
    assert (run.zero_offset, run.counts_per_gram) == (84_000, 21.5)
    idle = run.grams()[: 600]  # 00:00 local is dark for a 21-day broiler: empty platform
    assert abs(float(np.median(idle))) < 20


def test_visit_kinds_and_truth(run: ScaleRun) -> None:
    kinds = Counter(v.kind for v in run.visits)
    assert set(kinds) <= {"single", "multi", "jump", "peck"}
    assert kinds["single"] > 150 and kinds["jump"] > 0 and kinds["peck"] > 0
    for v in run.visits:
        assert v.end_ms > v.start_ms
        assert (len(v.weights_g) >= 2) == (v.kind == "multi")
    singles = [v.weights_g[0] for v in run.visits if v.kind == "single"]
    assert abs(np.mean(singles) / expected_weight_g("ross308", 21.5) - 1) < 0.08


def test_single_visits_show_their_true_weight(run: ScaleRun) -> None:
    """The load during a single visit's dwell, less the empty platform before it, is the bird."""
    g = run.grams()
    errors = []
    for v in run.visits:
        if v.kind != "single" or v.end_ms - v.start_ms < 8_000:
            continue
        i0, i1 = np.searchsorted(run.ts_ms, [v.start_ms, v.end_ms])
        before = np.median(g[max(0, i0 - 50) : i0])
        dwell = g[i0 + 20 : i1 - 15]
        errors.append(np.median(dwell) - before - v.weights_g[0])
    assert len(errors) > 50
    assert np.median(np.abs(errors)) < 25
    multi = [v for v in run.visits if v.kind == "multi"]
    for v in multi:
        i0, i1 = np.searchsorted(run.ts_ms, [v.start_ms, v.end_ms])
        # at some point the platform carries more than the heaviest bird alone
        assert g[i0:i1].max() > max(v.weights_g) * 1.2


def test_same_seed_same_signal() -> None:
    a = simulate_scale(200, 1, "yellow_feather", seed=7, start_day_age=60)
    b = simulate_scale(200, 1, "yellow_feather", seed=7, start_day_age=60)
    c = simulate_scale(200, 1, "yellow_feather", seed=8, start_day_age=60)
    assert np.array_equal(a.raw, b.raw) and a.visits == b.visits
    assert not np.array_equal(a.raw, c.raw)


def test_save_and_load(tmp_path, run: ScaleRun) -> None:
    path = tmp_path / "scale.npz"
    npz, truth = run.save(path)
    assert truth.name == "scale.npz.visits.json"
    back = ScaleRun.load(npz)
    assert np.array_equal(back.raw, run.raw) and np.array_equal(back.ts_ms, run.ts_ms)
    assert back.visits == run.visits and back.placed_on == run.placed_on


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown breed"):
        simulate_scale(10, 1, "dodo")
    with pytest.raises(ValueError, match="positive"):
        simulate_scale(0, 1, "ross308")


def test_empty_platform_level_wanders(run: ScaleRun) -> None:
    """Zero drift, temperature and droppings move the tare: a weigher must re-zero itself."""
    g = run.grams()
    busy = np.zeros(g.size, dtype=bool)
    for v in run.visits:
        i0, i1 = np.searchsorted(run.ts_ms, [v.start_ms, v.end_ms])
        busy[max(0, i0 - 5) : i1 + 5] = True
    hourly = [np.median(g[h * 36_000 : (h + 1) * 36_000][~busy[h * 36_000 : (h + 1) * 36_000]])
              for h in range(24)]
    assert max(hourly) - min(hourly) > 4.0
    assert max(abs(x) for x in hourly) < 150


def test_hanging_pan_bounces_harder_than_a_platform() -> None:
    from firmware_sim.scale import ScaleParams

    def ringing(kind: str) -> float:
        run = simulate_scale(600, 1, "cobb500", seed=5, start_day_age=28, params=ScaleParams(kind=kind))
        g = run.grams()
        peaks = []
        for v in run.visits:
            if v.kind != "single" or v.end_ms - v.start_ms < 6_000:
                continue
            i0 = int(np.searchsorted(run.ts_ms, v.start_ms))
            peaks.append(g[i0 : i0 + 20].max() / v.weights_g[0])
        return float(np.median(peaks))

    assert ringing("hanging") > ringing("platform") + 0.05
    with pytest.raises(ValueError, match="platform or hanging"):
        simulate_scale(10, 1, "ross308", params=ScaleParams(kind="bathroom"))
