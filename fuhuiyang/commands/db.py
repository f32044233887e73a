"""`fuhuiyang db ...`: schema migrations and status."""

from __future__ import annotations

import json

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
