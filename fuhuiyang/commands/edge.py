"""`fuhuiyang edge ...`: run the gateway agent, check its config, inspect its outbox."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

import click

log = logging.getLogger(__name__)


@click.group()
def edge() -> None:
    """The farm gateway agent."""


@edge.command("validate-config")
@click.argument("file", type=click.Path(path_type=Path))
def validate_config(file: Path) -> None:
    """Check a gateway.yaml; errors name the line."""
    from edge.config import ConfigError, load_config

    try:
        config = load_config(file)
    except ConfigError as exc:
        click.echo(f"{exc.source}: invalid", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    click.echo(f"{file}: ok (gateway {config.gateway_id}, {len(config.sensors)} sensors, "
               f"scale {'yes' if config.scale else 'no'}, {len(config.cameras)} cameras)")


@edge.command("run")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--tick", default=0.2, show_default=True, help="Seconds between loop rounds.")
def run(config_path: Path, tick: float) -> None:
    """Run the agent until SIGTERM/SIGINT."""
    from edge.config import ConfigError
    from fuhuiyang.processes.edge import build_agent

    try:
        agent = build_agent(config_path)
    except ConfigError as exc:
        raise click.ClickException(f"{exc.source}: " + "; ".join(exc.problems)) from None
    stop = threading.Event()

    def handle(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)
    log.warning("edge agent %s starting (outbox depth %s)", agent.config.gateway_id, agent.outbox.depth)
    agent.run(stop, tick)
    if agent.exit_code:  # an over-the-air update asks the service manager to start it again
        log.warning("edge agent exits with %s to restart into another release", agent.exit_code)
        sys.exit(agent.exit_code)


@edge.command("boot-check")
@click.option("--config", "config_path", required=True, type=click.Path(exists=True, path_type=Path))
def boot_check(config_path: Path) -> None:
    """Before each start (systemd ExecStartPre, run by the installed agent): roll a release on
    trial back when it crashed too often or passed its health deadline."""
    from edge.config import ConfigError, load_config
    from edge.release_dirs import ReleaseDirs
    from edge.release_dirs import boot_check as check

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise click.ClickException(f"{exc.source}: " + "; ".join(exc.problems)) from None
    dirs = ReleaseDirs(config.resolve(Path("agent")))
    outcome = check(dirs, time.time_ns() // 1_000_000)
    running = dirs.running() or "the installed agent"
    if outcome is not None:
        click.echo(f"release {outcome.version} rolled back: {outcome.reason}; starting {running}")
    else:
        click.echo(f"starting {running}")


@edge.command("outbox")
@click.option("--config", "config_path", type=click.Path(exists=True, path_type=Path),
              help="gateway.yaml (the outbox path is read from it).")
@click.option("--db", type=click.Path(path_type=Path), help="Outbox file, instead of --config.")
@click.option("--json", "as_json", is_flag=True)
def outbox(config_path: Path | None, db: Path | None, as_json: bool) -> None:
    """Depth, oldest age and drops by class of a gateway's outbox."""
    from edge.outbox import Outbox

    if db is None:
        if config_path is None:
            raise click.UsageError("give --config or --db")
        from fuhuiyang.processes.edge import load_effective

        config, _, _ = load_effective(config_path)
        db = config.resolve(config.outbox.path)
    if not db.exists():
        raise click.ClickException(f"no outbox at {db}")
    box = Outbox(db)
    now_ms = time.time_ns() // 1_000_000
    state = box.state(now_ms)
    out = {"path": str(db), "depth": state.depth, "bytes": state.bytes, "oldest_age_s": round(state.oldest_age_s, 1),
           "depth_by_class": box.depth_by_class(), "drops": state.drops, "drop_details": box.drop_details()}
    box.close()
    if as_json:
        click.echo(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            click.echo(f"{k}: {v}")
