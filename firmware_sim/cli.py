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
