"""The `fuhuiyang` console script: one entry point, sub-command groups per part."""

from __future__ import annotations

import logging
from typing import Any

import click

from fuhuiyang import __version__
from fuhuiyang.errors import EXPLAINED, explain
from fuhuiyang.lazy import LazyGroup

log = logging.getLogger(__name__)

# Command groups, imported only when invoked.
GROUPS = {
    "db": "fuhuiyang.commands.db:db",
    "edge": "fuhuiyang.commands.edge:edge",
    "cloud": "fuhuiyang.commands.cloud:cloud",
    "sim": "fuhuiyang.commands.sim:sim",
    "models": "models.cli:models",
    "bench": "fuhuiyang.commands.bench:bench",
    "alerts": "fuhuiyang.commands.alerts:alerts",
    "reports": "fuhuiyang.commands.reports:reports",
    "records": "fuhuiyang.commands.records:records",
    "demo": "fuhuiyang.demo:demo",
    "release": "fuhuiyang.commands.release:release",
}


class ExplainingGroup(LazyGroup):
    """Every command under it answers a missing database, broker or file with one line
    (`Error: ...`, exit 1) instead of a traceback; `-vv` logs the traceback too."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            found = explain(exc)
            if found is None:
                raise
            kind, line = found
            EXPLAINED[kind] += 1
            log.debug("%s failure explained as: %s", kind, line, exc_info=True)
            raise click.ClickException(line) from None


@click.group(cls=ExplainingGroup, lazy=GROUPS)
@click.version_option(__version__, prog_name="fuhuiyang")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def cli(verbose: int) -> None:
    """Fuhuiyang (富慧养): monitoring for small rural poultry farms."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main() -> None:
    cli()
