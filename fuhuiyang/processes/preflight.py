"""What a long-running cloud process says at start when its database or broker is not there.

Services keep their retry behaviour (a broker or database restarting must not stop them, and
compose/systemd may start them first); but a silent wait looks like a hang, so each missing
service is named once, in one line, with the setting to check.
"""

from __future__ import annotations

import logging

import psycopg
from psycopg import sql

from cloud.settings import CloudSettings
from fuhuiyang.errors import explain
from fuhuiyang.processes.resources import broker_address
from fuhuiyang.services.net import port_open

log = logging.getLogger(__name__)


def problems(settings: CloudSettings, *, database: bool = True, broker: bool = True) -> list[str]:
    """One line per configured service that does not answer (empty when all do)."""
    found: list[str] = []
    if database:
        try:
            with psycopg.connect(settings.database_url, autocommit=True, connect_timeout=5) as conn:
                qualified = sql.SQL("{}.schema_migrations").format(sql.Identifier(settings.database_schema))
                row = conn.execute("SELECT coalesce(to_regclass(%s), to_regclass('public.schema_migrations'))",
                                   (qualified.as_string(conn),)).fetchone()
            if row is None or row[0] is None:
                found.append(f"the database has no Fuhuiyang tables in schema {settings.database_schema}: "
                             "run `fuhuiyang db migrate`")
        except psycopg.Error as exc:
            explained = explain(exc)
            found.append(explained[1] if explained else str(exc).strip().splitlines()[0])
    if broker:
        address = broker_address(settings)
        if not port_open(address.host, address.port, timeout=2.0):
            found.append(f"no MQTT broker answers at {address.host}:{address.port} (FUHUIYANG_MQTT_URL)")
    return found


def announce(settings: CloudSettings, process: str, *, database: bool = True, broker: bool = True) -> None:
    """Log each missing service once at start; the process then waits for it as it always has."""
    for line in problems(settings, database=database, broker=broker):
        log.warning("%s: %s; waiting for it", process, line)
