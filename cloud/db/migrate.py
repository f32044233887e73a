"""Versioned SQL migrations.

Files in cloud/db/migrations are named ``NNNN_name[.variant].sql``. For one version,
the plain ``NNNN_name.sql`` always applies, then ``.timescaledb.sql`` when the
extension is present or ``.plain.sql`` when it is not. Each version applies in one
transaction and is recorded in ``schema_migrations``; a session advisory lock lets
several processes run `db migrate` at once.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql

from cloud.db.connection import timescaledb_installed

log = logging.getLogger(__name__)

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(timescaledb|plain))?\.sql$")
_LOCK_NAMESPACE = 0x46485900  # "FHY\0": keeps our advisory locks apart from others'


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    parts: dict[str, str]  # variant ("", "timescaledb", "plain") -> SQL text

    def sql_for(self, timescaledb: bool) -> list[str]:
        variant = "timescaledb" if timescaledb else "plain"
        return [self.parts[key] for key in ("", variant) if key in self.parts]


def load_migrations() -> list[Migration]:
    found: dict[int, tuple[str, dict[str, str]]] = {}
    for entry in resources.files("cloud.db.migrations").iterdir():
        match = _FILE.match(entry.name)
        if not match:
            continue
        version, name, variant = int(match[1]), match[2], match[3] or ""
        known_name, parts = found.setdefault(version, (name, {}))
        if known_name != name:
            raise ValueError(f"migration {version:04d} has two names: {known_name}, {name}")
        parts[variant] = entry.read_text(encoding="utf-8")
    return [Migration(v, n, p) for v, (n, p) in sorted(found.items())]


@dataclass(frozen=True)
class Status:
    applied: list[str]
    pending: list[str]
    timescaledb: bool

    def as_dict(self) -> dict[str, object]:
        return {"applied": self.applied, "pending": self.pending, "timescaledb": self.timescaledb}


def _label(m: Migration) -> str:
    return f"{m.version:04d}_{m.name}"


def ensure_timescaledb(conn: psycopg.Connection) -> bool:
    """Install the extension if the server offers it; False when it cannot be had."""
    if timescaledb_installed(conn):
        return True
    available = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    if not available:
        return False
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error as exc:  # e.g. not in shared_preload_libraries, or no privilege
        log.warning("timescaledb is available but could not be installed: %s", exc)
        return False
    return True


def _ensure_bookkeeping(conn: psycopg.Connection, schema: str) -> None:
    with conn.transaction():
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version    integer PRIMARY KEY,
                   name       text NOT NULL,
                   engine     text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )


def _applied_versions(conn: psycopg.Connection) -> set[int]:
    exists = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
    if not exists or exists[0] is None:
        return set()
    return {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}


def status(conn: psycopg.Connection) -> Status:
    applied = _applied_versions(conn)
    migrations = load_migrations()
    return Status(
        applied=[_label(m) for m in migrations if m.version in applied],
        pending=[_label(m) for m in migrations if m.version not in applied],
        timescaledb=timescaledb_installed(conn),
    )


def migrate(conn: psycopg.Connection, schema: str) -> list[str]:
    """Apply pending migrations; returns the labels applied (empty when up to date).

    `conn` must be in autocommit mode so each version gets its own transaction.
    """
    if not conn.autocommit:
        raise ValueError("migrate() needs an autocommit connection")
    conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (_LOCK_NAMESPACE, schema))
    try:
        timescaledb = ensure_timescaledb(conn)
        _ensure_bookkeeping(conn, schema)
        done = _applied_versions(conn)
        applied = []
        for migration in load_migrations():
            if migration.version in done:
                continue
            with conn.transaction():
                for text in migration.sql_for(timescaledb):
                    conn.execute(text.encode())
                # Never prepared: from the sixth migration on psycopg would prepare it, and the
                # PGlite engine shares one session, so the name clashes on the next connection.
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, engine) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, "timescaledb" if timescaledb else "postgresql"),
                    prepare=False,
                )
            log.info("applied migration %s", _label(migration))
            applied.append(_label(migration))
        return applied
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (_LOCK_NAMESPACE, schema))
