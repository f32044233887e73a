"""`fuhuiyang cloud provision ...`: gateway credentials and the broker's auth files."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import click

from cloud.db.connection import connect
from cloud.provisioning.backends import BackendNotConfigured, broker_auth, gateway_broker
from cloud.provisioning.gateways import PASSWORD_ENV, Provisioner, ProvisioningError
from cloud.settings import CloudSettings


@contextmanager
def provisioner(*, offline: bool = False) -> Iterator[Provisioner]:
    settings = CloudSettings()
    try:
        backend = broker_auth(settings, offline=offline)
    except BackendNotConfigured as exc:
        raise click.UsageError(str(exc)) from None
    with connect(settings.database_url, settings.database_schema) as conn:
        try:
            yield Provisioner(conn, backend, gateway_broker(settings))
        except ProvisioningError as exc:
            raise click.ClickException(str(exc)) from None


def _emit(result: Mapping[str, object], as_json: bool, yaml_out: Path | None) -> None:
    if yaml_out is not None:
        yaml_out.write_text(str(result["gateway_yaml"]))
    if as_json:
        click.echo(json.dumps(result))
        return
    click.echo(f"gateway_id: {result['gateway_id']}")
    click.echo(f"password:   {result['password']}  (give the gateway {PASSWORD_ENV}=<password>)")
    if yaml_out is not None:
        click.echo(f"gateway.yaml written to {yaml_out}")
    else:
        click.echo("--- gateway.yaml ---")
        click.echo(str(result["gateway_yaml"]), nl=False)


@click.group()
def provision() -> None:
    """Gateway identities and broker credentials (the broker files follow the database)."""


@provision.command()
@click.option("--farm", "farm_id", required=True, help="Farm the gateway belongs to.")
@click.option("--id", "gateway_id", default=None, help="Gateway id (default: generated gw-xxxxxxxx).")
@click.option("--yaml-out", type=click.Path(path_type=Path), default=None, help="Write gateway.yaml here.")
@click.option("--json", "as_json", is_flag=True)
def register(farm_id: str, gateway_id: str | None, yaml_out: Path | None, as_json: bool) -> None:
    """Register a gateway: prints its id, a new password and a ready gateway.yaml."""
    with provisioner() as p:
        credentials = p.register(farm_id, gateway_id)
    _emit(credentials.as_dict(), as_json, yaml_out)


@provision.command()
@click.argument("gateway_id")
@click.option("--yaml-out", type=click.Path(path_type=Path), default=None)
@click.option("--json", "as_json", is_flag=True)
def rotate(gateway_id: str, yaml_out: Path | None, as_json: bool) -> None:
    """Issue a new password (the old one stops working at the broker's reload)."""
    with provisioner() as p:
        credentials = p.rotate(gateway_id)
    _emit(credentials.as_dict(), as_json, yaml_out)


@provision.command()
@click.argument("gateway_id")
@click.option("--json", "as_json", is_flag=True)
def revoke(gateway_id: str, as_json: bool) -> None:
    """Remove a gateway's broker access; it can no longer connect."""
    with provisioner() as p:
        p.revoke(gateway_id)
    click.echo(json.dumps({"gateway_id": gateway_id, "revoked": True}) if as_json else f"revoked {gateway_id}")


@provision.command("list")
@click.option("--farm", "farm_id", default=None)
@click.option("--json", "as_json", is_flag=True)
def list_command(farm_id: str | None, as_json: bool) -> None:
    """List gateways (status, last seen, config versions, revoked)."""
    with provisioner() as p:
        rows = p.list_gateways(farm_id)
    if as_json:
        click.echo(json.dumps(rows, default=str))
        return
    for row in rows:
        state = "revoked" if row["revoked"] else row["status"]
        click.echo(f"{row['id']:<24} {row['farm_id']:<16} {state:<10} last seen {row['last_seen'] or '-'}")


@provision.command("service-account")
@click.argument("username")
@click.option("--role", type=click.Choice(["ingest", "publisher", "reader"]), required=True)
@click.option("--json", "as_json", is_flag=True)
def service_account(username: str, role: str, as_json: bool) -> None:
    """Create (or re-key) a broker login for a cloud process; prints its password."""
    with provisioner() as p:
        password = p.add_service_account(username, role)
    click.echo(json.dumps({"username": username, "role": role, "password": password}) if as_json
               else f"{username} ({role}) password: {password}")


@provision.command()
@click.option("--offline", is_flag=True,
              help="Render the dynamic-security plugin's config file instead (broker stopped; read at start).")
def sync(offline: bool) -> None:
    """Bring the broker's logins and ACLs to the database's state."""
    with provisioner(offline=offline) as p:
        live = p.sync()
    click.echo("broker updated" if live else "broker auth written; the broker reads it at its next (re)start")
