"""`fuhuiyang sim ...`: the simulated world from the command line (composition root)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from fuhuiyang.lazy import LazyGroup

log = logging.getLogger(__name__)

# The camera renderer is its own module; it is loaded only when `sim frames` runs.
LAZY = {"frames": "firmware_sim.camera.cli:frames"}


@click.group(cls=LazyGroup, lazy=LAZY)
def sim() -> None:
    """Simulated farms: flocks, scales, climate, events, devices and fleets."""


@sim.command("scale")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output .npz (arrays); ground truth goes to OUT.visits.json.")
@click.option("--birds", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--days", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--breed", default="ross308", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--hz", type=click.FloatRange(min=1.0, max=200.0), default=10.0, show_default=True)
@click.option("--start-day-age", type=click.IntRange(min=0), default=0, show_default=True,
              help="Flock age on the first simulated day.")
@click.option("--json", "as_json", is_flag=True, help="Print a summary as JSON.")
def scale_cmd(out: Path, birds: int, days: int, breed: str, seed: int, hz: float,
              start_day_age: int, as_json: bool) -> None:
    """Raw load-cell signal of a platform scale plus the true visits."""
    from collections import Counter

    from firmware_sim.breeds import BREEDS
    from firmware_sim.scale import simulate_scale

    if breed not in BREEDS:
        raise click.BadParameter(f"unknown breed {breed!r}; known: {', '.join(sorted(BREEDS))}",
                                 param_hint="--breed")
    run = simulate_scale(birds, days, breed, seed=seed, hz=hz, start_day_age=start_day_age)
    npz, truth = run.save(out)
    summary = {
        "signal": str(npz), "truth": str(truth), "samples": int(run.ts_ms.size), "hz": hz,
        "visits": len(run.visits), "by_kind": dict(Counter(v.kind for v in run.visits)),
        "zero_offset": run.zero_offset, "counts_per_gram": run.counts_per_gram,
        "placed_on": run.placed_on.isoformat(),
    }
    click.echo(json.dumps(summary) if as_json else
               f"wrote {npz} ({summary['samples']} samples) and {truth} ({len(run.visits)} visits)")


@sim.command("run")
@click.argument("scenario")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Days to simulate (default: the scenario's).")
@click.option("--speed", default="max", show_default=True,
              help="Simulated seconds per real second, or 'max'.")
@click.option("--seed", type=int, default=None, help="Override the scenario's seed.")
@click.option("--truth-json", "truth_json", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="Write the per-flock, per-day ground truth here (JSON list).")
@click.option("--json", "as_json", is_flag=True, help="Print a run summary as JSON.")
def run_cmd(scenario: str, days: int | None, speed: str, seed: int | None, truth_json: Path,
            as_json: bool) -> None:
    """Simulate SCENARIO (a YAML path or a shipped name, e.g. demo_region)."""
    from firmware_sim.clock import parse_speed
    from firmware_sim.run import run_scenario
    from firmware_sim.scenario import load_scenario

    try:
        pace = parse_speed(speed)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--speed") from None
    try:
        loaded = load_scenario(scenario)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    result = run_scenario(loaded, days=days, speed=pace, seed=seed)
    truth_json.parent.mkdir(parents=True, exist_ok=True)
    truth_json.write_text(json.dumps(result.rows, ensure_ascii=False, indent=1), encoding="utf-8")
    summary = {
        "scenario": loaded.name, "days": result.days, "farms": result.farms,
        "rows": len(result.rows), "deaths": sum(r["deaths"] for r in result.rows),
        "wall_s": round(result.wall_s, 3), "truth": str(truth_json),
    }
    click.echo(json.dumps(summary, ensure_ascii=False) if as_json else
               f"{loaded.name}: {result.days} days, {result.farms} farms, {len(result.rows)} rows "
               f"in {result.wall_s:.1f} s -> {truth_json}")
