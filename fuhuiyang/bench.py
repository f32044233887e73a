"""`fuhuiyang bench ...`: benchmarks that print JSON, each owned by its part."""

from __future__ import annotations

import click

from fuhuiyang.lazy import LazyGroup

BENCHMARKS = {
    "weighing": "edge.bench:weighing",
    "edge": "edge.bench:edge_footprint",
    "ingest": "cloud.ingest.bench:ingest",
    "detect": "cloud.detect.bench:detect",
    "report": "cloud.reports.bench:report",
    "fleet": "fuhuiyang.fleet_bench:fleet",
    "sim": "firmware_sim.bench:sim_speed",
}


@click.group(cls=LazyGroup, lazy=BENCHMARKS)
def bench() -> None:
    """Benchmarks; each prints JSON and compares against a baseline measured in the same run."""
