"""`fuhuiyang release ...`: the programme's release key, signed bundles, staged rollouts.

    fuhuiyang release keygen --out keys/               # release.key (0600) + release.pub
    fuhuiyang release sign --bundle agent.whl --key keys/release.key --version 0.2.0
    fuhuiyang release publish --bundle agent.whl       # reads agent.whl.release.json
    fuhuiyang release rollout start --version 0.2.0 --stage gateways:gw-1,gw-2 --stage region:t-01 --stage all
    fuhuiyang release rollout status|halt|resume|rollback|republish <id>
    fuhuiyang release rollout run                       # the controller: judge stages every few seconds
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import psycopg

from cloud.db.connection import connect
from cloud.releases import rollouts, signing
from cloud.releases.store import ReleaseStore
from cloud.settings import CloudSettings
from fuhuiyang.processes.resources import broker_address
from messaging.publisher import HeldMqttPublisher


@click.group()
def release() -> None:
    """Over-the-air agent releases: keys, signing, publishing and staged rollouts."""


@release.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Directory for release.key and release.pub.")
def keygen(out_dir: Path) -> None:
    """A new programme release key pair (never overwrites a key)."""
    try:
        signing.keygen(out_dir / "release.key", out_dir / "release.pub")
    except signing.SigningError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"private key: {out_dir / 'release.key'} (mode 0600: keep it offline)")
    click.echo(f"public key:  {out_dir / 'release.pub'} (provision it to gateways as update.public_key_file)")


@release.command()
@click.option("--bundle", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--key", "key_path", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--version", "version", required=True, help="The release's version (never reused).")
def sign(bundle: Path, key_path: Path, version: str) -> None:
    """Write <bundle>.release.json: the manifest (version, sha256, size) and its signature."""
    try:
        out = signing.sign_bundle(bundle, key_path, version)
    except signing.SigningError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"signed {bundle.name} as {version}: {out}")


@contextmanager
def _database() -> Iterator[tuple[psycopg.Connection, CloudSettings]]:
    settings = CloudSettings()
    try:
        conn = connect(settings.database_url, settings.database_schema)
    except psycopg.OperationalError as exc:
        raise click.ClickException(f"cannot reach the database: {str(exc).strip().splitlines()[0]}") from None
    with conn:
        yield conn, settings


@contextmanager
def _publisher(settings: CloudSettings) -> Iterator[HeldMqttPublisher]:
    try:
        publisher = HeldMqttPublisher(broker_address(settings))
    except OSError as exc:
        raise click.ClickException(f"cannot reach the broker at {settings.mqtt_url}: {exc}") from None
    try:
        yield publisher
    finally:
        publisher.close()


@release.command()
@click.option("--bundle", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--signed", "signed_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The release file (default: <bundle>.release.json).")
@click.option("--notes", default=None, help="What changed, for the console.")
def publish(bundle: Path, signed_path: Path | None, notes: str | None) -> None:
    """Store a signed bundle in the cloud's release store."""
    try:
        signed = signing.load_signed(signed_path or bundle.with_name(bundle.name + ".release.json"))
        data = bundle.read_bytes()
    except (signing.SigningError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    with _database() as (conn, settings):
        try:
            release_id = rollouts.register_release(conn, ReleaseStore(settings.releases_dir), signed, data, notes=notes)
        except rollouts.RolloutError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"release {signed.manifest.version} stored (id {release_id})")


@release.group()
def rollout() -> None:
    """Staged rollouts: start, watch, halt, resume, roll back."""


def _show(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary))
        return
    click.echo(f"rollout {summary['id']}: {summary['version']} {summary['state']} at stage {summary['stage']}"
               + (f" ({summary['reason']})" if summary["reason"] else ""))
    for s in summary["stages"]:
        mark = "open" if s["opened"] else "waiting"
        click.echo(f"  stage {s['stage']} {s['name']:<30} {mark:<7} {s['targets']:>5} gateways  "
                   f"healthy {s['healthy']:>5}  rolled back {s['rolled_back']:>4}  pending {s['pending']:>5}")


@rollout.command("start")
@click.option("--version", "version", required=True)
@click.option("--stage", "stages", multiple=True, required=True,
              help="gateways:<id,...> | region:<id> | all; in order, first stage first.")
@click.option("--halt-share", default=0.2, show_default=True, type=click.FloatRange(0, 1),
              help="Halt when more than this share of a stage rolled back.")
@click.option("--advance-share", default=0.9, show_default=True, type=click.FloatRange(0.01, 1),
              help="Open the next stage once this share of the current one is healthy.")
@click.option("--soak", "soak_s", default=0, show_default=True, type=click.IntRange(0),
              help="Seconds a stage stays open at least.")
@click.option("--json", "as_json", is_flag=True)
def start(version: str, stages: tuple[str, ...], halt_share: float, advance_share: float, soak_s: int,
          as_json: bool) -> None:
    """Start a rollout; stage 1 is published at once."""
    with _database() as (conn, settings), _publisher(settings) as publisher:
        try:
            specs = [rollouts.StageSpec.parse(s) for s in stages]
            rollout_id = rollouts.start(conn, publisher, version, specs, halt_share=halt_share,
                                        advance_share=advance_share, soak_s=soak_s)
        except rollouts.RolloutError as exc:
            raise click.ClickException(str(exc)) from None
        _show(rollouts.summary(conn, rollout_id), as_json)


@rollout.command("status")
@click.argument("rollout_id", type=int, required=False)
@click.option("--json", "as_json", is_flag=True)
def status(rollout_id: int | None, as_json: bool) -> None:
    """One rollout's stages, or the list of rollouts."""
    with _database() as (conn, _):
        try:
            if rollout_id is None:
                listed = rollouts.list_rollouts(conn, None)
                if as_json:
                    click.echo(json.dumps(listed))
                for r in [] if as_json else listed:
                    click.echo(f"{r['id']:>5} {r['version']:<20} {r['state']:<12} stage {r['stage']}")
                return
            _show(rollouts.summary(conn, rollout_id), as_json)
        except rollouts.RolloutError as exc:
            raise click.ClickException(str(exc)) from None


def _act(rollout_id: int, action: str, as_json: bool) -> None:
    with _database() as (conn, settings), _publisher(settings) as publisher:
        try:
            if action == "halt":
                rollouts.halt(conn, publisher, rollout_id, "halted from the command line")
            elif action == "resume":
                rollouts.resume(conn, publisher, rollout_id)
            elif action == "rollback":
                rollouts.roll_back(conn, publisher, rollout_id)
            else:
                rollouts.republish(conn, publisher, rollout_id)
        except rollouts.RolloutError as exc:
            raise click.ClickException(str(exc)) from None
        _show(rollouts.summary(conn, rollout_id), as_json)


for _action, _help in (("halt", "Open no further stage; gateways not yet started keep their version."),
                       ("resume", "Continue a halted rollout."),
                       ("rollback", "Every gateway it reached returns to what it ran before."),
                       ("republish", "Publish the retained release again (after a broker lost it).")):
    def _make(action: str) -> Any:
        @click.argument("rollout_id", type=int)
        @click.option("--json", "as_json", is_flag=True)
        def command(rollout_id: int, as_json: bool) -> None:
            _act(rollout_id, action, as_json)
        return command

    rollout.command(_action, help=_help)(_make(_action))


@rollout.command("run")
@click.option("--every", "every_s", default=5.0, show_default=True, type=click.FloatRange(0.5, 3600))
def run(every_s: float) -> None:
    """The rollout controller: judge every running rollout's open stage (halt, advance, complete)."""
    stop = threading.Event()
    with _database() as (conn, settings), _publisher(settings) as publisher:
        try:
            while not stop.wait(every_s):
                for rollout_id, decision in rollouts.cycle(conn, publisher):
                    click.echo(f"rollout {rollout_id}: {decision.action} {decision.reason or ''}".rstrip())
        except KeyboardInterrupt:
            pass
