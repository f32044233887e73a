"""Opening connections: every connection works inside the configured schema."""

from __future__ import annotations

import psycopg
from psycopg import sql


def connect(
    url: str, schema: str = "public", *, autocommit: bool = False, application_name: str | None = None
) -> psycopg.Connection:
    """Connect with search_path = <schema>, public (extensions such as TimescaleDB live in public).

    `application_name` (a worker's client id) shows in pg_stat_activity: which worker holds what.
    """
    conn = psycopg.connect(url, autocommit=autocommit)
    if application_name:
        conn.execute("SELECT set_config('application_name', %s, false)", (application_name[:63],))
    conn.execute(
        sql.SQL("SELECT set_config('search_path', {}, false)").format(sql.Literal(f"{schema}, public"))
    )
    if not autocommit:
        conn.commit()
    return conn


def timescaledb_installed(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    return row is not None
