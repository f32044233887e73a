"""`fuhuiyang demo`: bring the platform up on embedded services and show what it does.

The full regional demo (issue 9) drives every part; until each part exists this command
runs what is there and says plainly what is missing.
"""

from __future__ import annotations

import importlib
import json
import tempfile
from pathlib import Path

import click

from fuhuiyang.services import mqtt as mqtt_services
from fuhuiyang.services import postgres as pg_services

# Part -> module that must import for it to take part in the demo.
PARTS = {
    "simulator": "firmware_sim.scenario",
    "edge agent": "edge.agent",
    "ingest": "cloud.ingest.service",
    "dead-bird detector": "cloud.detect.worker",
    "alerts": "cloud.alerts.engine",
    "web app": "cloud.api.app",
}


def _available(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


@click.command()
@click.option("--headless", is_flag=True, help="Exit when the run ends instead of serving the web app.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--days", default=30, show_default=True, help="Simulated days.")
@click.option("--speed", default="max", show_default=True, help="Simulated seconds per real second, or max.")
def demo(headless: bool, as_json: bool, days: int, speed: str) -> None:
    """Run the regional demo on embedded services (or FUHUIYANG_DATABASE_URL / FUHUIYANG_MQTT_URL)."""
    from cloud.db.connection import connect
    from cloud.db.migrate import migrate, status
    from cloud.settings import CloudSettings

    settings = CloudSettings()
    workdir = Path(tempfile.mkdtemp(prefix="fuhuiyang-demo-"))
    db_url, embedded_pg = pg_services.find_or_start(settings.database_url, workdir / "pg")
    broker, embedded_broker = mqtt_services.find_or_start(settings.mqtt_url)
    try:
        with connect(db_url, settings.database_schema, autocommit=True) as conn:
            migrate(conn, settings.database_schema)
            db_status = status(conn)
        parts = {name: _available(module) for name, module in PARTS.items()}
        summary = {
            "database": {"embedded": embedded_pg is not None, **db_status.as_dict()},
            "broker": {"url": broker.url, "kind": broker.kind},
            "days": days,
            "speed": speed,
            "parts": parts,
            "missing": [name for name, ok in parts.items() if not ok],
        }
        if as_json:
            click.echo(json.dumps(summary, indent=2))
        else:
            click.echo(f"database ready ({'TimescaleDB' if db_status.timescaledb else 'PostgreSQL'}), "
                       f"broker at {broker.url} ({broker.kind})")
            for name, ok in parts.items():
                click.echo(f"  {'✓' if ok else '✗ not built yet:'} {name}")
            if summary["missing"]:
                click.echo("The full regional demo needs every part above; see the open issues.")
    finally:
        if embedded_broker is not None:
            embedded_broker.stop()
        if embedded_pg is not None:
            embedded_pg.stop()
