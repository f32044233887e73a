"""`fuhuiyang bench ...`: benchmarks that print JSON, one module each in fuhuiyang/bench."""

from __future__ import annotations

import click

from fuhuiyang.lazy import LazyGroup

BENCHMARKS = {
    "weighing": "fuhuiyang.bench.weighing:weighing",
    "edge": "fuhuiyang.bench.edge_footprint:edge_footprint",
    "ingest": "fuhuiyang.bench.ingest:ingest",
    "detect": "fuhuiyang.bench.detect:detect",
    "report": "fuhuiyang.bench.report:report",
    "fleet": "fuhuiyang.bench.fleet:fleet",
    "sim": "fuhuiyang.bench.sim_speed:sim_speed",
    "rollout": "fuhuiyang.bench.rollout:rollout",
    "health": "fuhuiyang.bench.detector_health:health",
}


@click.group(cls=LazyGroup, lazy=BENCHMARKS)
def bench() -> None:
    """Benchmarks; each prints JSON and compares against a baseline measured in the same run."""
