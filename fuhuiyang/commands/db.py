"""`fuhuiyang db ...`: schema migrations and status."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import click

from cloud.db.connection import connect
from cloud.db.migrate import migrate, status
from cloud.settings import CloudSettings


@click.group()
def db() -> None:
    """Database schema: migrate and inspect (FUHUIYANG_DATABASE_URL, FUHUIYANG_DATABASE_SCHEMA)."""


@db.command("migrate")
@click.option("--json", "as_json", is_flag=True, help="Print the applied migrations as JSON.")
def migrate_command(as_json: bool) -> None:
    """Apply pending migrations (safe to run concurrently; a no-op when up to date)."""
    settings = CloudSettings()
    with connect(settings.database_url, settings.database_schema, autocommit=True) as conn:
        applied = migrate(conn, settings.database_schema)
        current = status(conn)
    if as_json:
        click.echo(json.dumps({"applied_now": applied, **current.as_dict()}))
    elif applied:
        click.echo(f"applied {len(applied)}: {', '.join(applied)}")
    else:
        click.echo("up to date")


@db.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print status as JSON.")
def status_command(as_json: bool) -> None:
    """Show applied and pending migrations and whether TimescaleDB is in use."""
    settings = CloudSettings()
    with connect(settings.database_url, settings.database_schema, autocommit=True) as conn:
        current = status(conn)
    if as_json:
        click.echo(json.dumps(current.as_dict()))
    else:
        click.echo(f"timescaledb: {current.timescaledb}")
        click.echo(f"applied: {', '.join(current.applied) or '-'}")
        click.echo(f"pending: {', '.join(current.pending) or '-'}")


@db.command("retention")
@click.option("--keep-days", default=180, show_default=True, type=click.IntRange(min=1),
              help="Frames older than this expire (plain PostgreSQL; TimescaleDB's policy does it there).")
@click.option("--grace-hours", default=24, show_default=True, type=click.IntRange(min=1),
              help="Never delete a file younger than this (its row may not be committed yet).")
@click.option("--dry-run", is_flag=True, help="Count what would go; delete nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def retention_command(keep_days: int, grace_hours: int, dry_run: bool, as_json: bool) -> None:
    """Frame retention: expired frames' files leave the disk or bucket (evidence of a recorded
    death stays with its record). Idempotent; run daily (deploy/systemd/fuhuiyang-retention.timer)."""
    from cloud.frames_retention import expire_frames
    from cloud.frames_store import PrunableFrameStore
    from fuhuiyang.processes.resources import frame_store

    settings = CloudSettings()
    store = frame_store(settings)
    if not isinstance(store, PrunableFrameStore):
        raise click.ClickException(f"the frame store {type(store).__name__} cannot list or delete files")
    with connect(settings.database_url, settings.database_schema, autocommit=True) as conn:
        report = expire_frames(conn, store, datetime.now(UTC), timedelta(days=keep_days),
                               timedelta(hours=grace_hours), dry_run)
    if as_json:
        click.echo(json.dumps(report.as_dict()))
        return
    verb = "would delete" if dry_run else "deleted"
    click.echo(f"rows expired: {report.rows_expired} ({report.rows_expire_by}); files {verb}: "
               f"{report.files_deleted} ({report.bytes_deleted / 1e6:.1f} MB) of {report.files_seen}; "
               f"kept: {report.kept_in_use} in use, {report.kept_evidence} evidence, {report.kept_young} recent")
