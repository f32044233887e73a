"""`fuhuiyang bench weighing`: the simulator's raw scale signal through the agent's weighing code."""

from __future__ import annotations

import json
import time
from typing import Any

import click


@click.command("weighing")
@click.option("--birds", default=1000, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 120))
@click.option("--breed", default="ross308", show_default=True)
@click.option("--start-day-age", default=14, show_default=True, type=click.IntRange(0, 200))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--kind", type=click.Choice(["platform", "hanging"]), default="platform", show_default=True)
@click.option("--show-days", is_flag=True, help="Include the per-day table.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def weighing(birds: int, days: int, breed: str, start_day_age: int, seed: int, kind: str,
             show_days: bool, as_json: bool) -> None:
    """Run the simulator's raw scale signal through the agent's weighing code and score it."""
    from edge.weighing import (
        PROFILES,
        AcceptanceWindow,
        Calibration,
        ExpectedCurve,
        VisitParams,
        Weigher,
        WindowParams,
    )
    from edge.weighing.evaluate import score
    from firmware_sim.clock import epoch_ms
    from firmware_sim.scale import ScaleParams, simulate_scale

    t0 = time.perf_counter()
    run = simulate_scale(birds, days, breed, seed=seed, start_day_age=start_day_age,
                         params=ScaleParams(kind=kind))
    sim_s = time.perf_counter() - t0
    curve = ExpectedCurve(breed, epoch_ms(run.placed_on))
    weigher = Weigher(Calibration(run.zero_offset, run.counts_per_gram),
                      AcceptanceWindow(curve, WindowParams()), PROFILES[kind])
    chunk = int(run.hz * 600)  # ten-minute reads, as the agent's loop would see them
    results = []
    t1 = time.perf_counter()
    for i in range(0, len(run.raw), chunk):
        results.extend(weigher.feed(run.ts_ms[i : i + chunk], run.raw[i : i + chunk]))
    weigh_s = time.perf_counter() - t1
    s = score(results, run.visits)
    out: dict[str, Any] = s.as_dict()
    if not show_days:
        out.pop("per_day")
    out.update(
        breed=breed, kind=kind, birds=birds, days=days, start_day_age=start_day_age, seed=seed,
        samples=len(run.raw), rejected=dict(weigher.stats.rejected), retares=weigher.stats.retares,
        tare_steps=weigher.stats.tare_steps, leans_ignored=weigher.stats.leans,
        sim_s=round(sim_s, 2), weigh_s=round(weigh_s, 2),
        samples_per_s=round(len(run.raw) / max(weigh_s, 1e-9)),
    )
    # Baseline in the same run: the textbook weigher (window −30 %/+15 % around the breed
    # standard only, tare interpolated across every visit, any second level rejected).
    textbook = Weigher(Calibration(run.zero_offset, run.counts_per_gram),
                       AcceptanceWindow(curve, WindowParams(low=0.30, high=0.15, min_own=10**9)),
                       PROFILES[kind],
                       VisitParams(lean_rel=0.0, drift_g=1e9, max_tare_shift_rel=1e9, second_bird_s=1e9))
    base_results = []
    for i in range(0, len(run.raw), chunk):
        base_results.extend(textbook.feed(run.ts_ms[i : i + chunk], run.raw[i : i + chunk]))
    b = score(base_results, run.visits)
    out["baseline_textbook"] = {k: getattr(b, k) for k in (
        "per_bird_median_abs_error_g", "daily_mean_rel_error", "single_visit_recall", "multi_bird_rejected",
        "false_accepts")}
    if as_json:
        click.echo(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            click.echo(f"{k}: {v}")
