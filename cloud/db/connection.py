"""Opening connections: every connection works inside the configured schema."""

from __future__ import annotations

import psycopg
from psycopg import sql


def connect(url: str, schema: str = "public", *, autocommit: bool = False) -> psycopg.Connection:
    """Connect with search_path = <schema>, public (extensions such as TimescaleDB live in public)."""
    conn = psycopg.connect(url, autocommit=autocommit)
    conn.execute(
        sql.SQL("SELECT set_config('search_path', {}, false)").format(sql.Literal(f"{schema}, public"))
    )
    if not autocommit:
        conn.commit()
    return conn


def timescaledb_installed(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    return row is not None
