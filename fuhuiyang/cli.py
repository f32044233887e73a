"""The `fuhuiyang` console script: one entry point, sub-command groups per part."""

from __future__ import annotations

import logging

import click

from fuhuiyang import __version__
from fuhuiyang.lazy import LazyGroup

# Command groups, imported only when invoked.
GROUPS = {
    "db": "fuhuiyang.commands.db:db",
    "edge": "fuhuiyang.commands.edge:edge",
    "cloud": "fuhuiyang.commands.cloud:cloud",
    "sim": "fuhuiyang.commands.sim:sim",
    "models": "models.cli:models",
    "bench": "fuhuiyang.commands.bench:bench",
    "alerts": "fuhuiyang.commands.alerts:alerts",
    "records": "fuhuiyang.commands.records:records",
    "demo": "fuhuiyang.demo:demo",
}


@click.group(cls=LazyGroup, lazy=GROUPS)
@click.version_option(__version__, prog_name="fuhuiyang")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose: int) -> None:
    """Fuhuiyang (富慧养): monitoring for small rural poultry farms."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main() -> None:
    cli()
