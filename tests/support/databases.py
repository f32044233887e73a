"""Per-test database schemas, migrated fresh, dropped afterwards."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg
from psycopg import sql

from cloud.db.connection import connect
from cloud.db.migrate import migrate


@dataclass
class TestDatabase:
    url: str
    schema: str
    timescaledb: bool = False

    __test__ = False  # not a pytest test class

    def connect(self, autocommit: bool = False) -> psycopg.Connection:
        return connect(self.url, self.schema, autocommit=autocommit)

    def env(self) -> dict[str, str]:
        return {"FUHUIYANG_DATABASE_URL": self.url, "FUHUIYANG_DATABASE_SCHEMA": self.schema}


def create_schema_database(url: str) -> TestDatabase:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with connect(url, schema, autocommit=True) as conn:
        migrate(conn, schema)
        timescaledb = conn.execute(
            "SELECT engine = 'timescaledb' FROM schema_migrations ORDER BY version LIMIT 1"
        ).fetchone()
    return TestDatabase(url, schema, bool(timescaledb and timescaledb[0]))


def drop_schema(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
