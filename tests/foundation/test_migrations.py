"""`fuhuiyang db migrate/status` on plain PostgreSQL and on TimescaleDB (PGlite)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import pytest

from cloud.db.connection import connect
from cloud.db.migrate import load_migrations
from tests.support.databases import drop_schema

FHY = [sys.executable, "-m", "fuhuiyang"]
ALL = [f"{m.version:04d}_{m.name}" for m in load_migrations()]


def run_cli(*args: str, url: str, schema: str) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"FUHUIYANG_DATABASE_URL": url, "FUHUIYANG_DATABASE_SCHEMA": schema}
    return subprocess.run([*FHY, *args], env=env, capture_output=True, text=True, timeout=300, check=True)


def catalog(url: str, schema: str) -> list[tuple[str, str]]:
    with connect(url, schema) as conn:
        rows = conn.execute(
            "SELECT c.relname, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s ORDER BY 1",
            (schema,),
        ).fetchall()
    return [(r[0], r[1]) for r in rows]


@pytest.fixture
def empty_schema(postgres_url: str) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield schema
    drop_schema(postgres_url, schema)


def test_migrate_twice_second_run_changes_nothing(postgres_url: str, empty_schema: str) -> None:
    first = json.loads(run_cli("db", "migrate", "--json", url=postgres_url, schema=empty_schema).stdout)
    assert first["applied_now"] == ALL and ALL[:2] == ["0001_core", "0002_aggregates"]
    before = catalog(postgres_url, empty_schema)
    assert ("readings", "r") in before and ("env_hourly", "v") in before

    second = json.loads(run_cli("db", "migrate", "--json", url=postgres_url, schema=empty_schema).stdout)
    assert second["applied_now"] == []
    assert catalog(postgres_url, empty_schema) == before

    status = json.loads(run_cli("db", "status", "--json", url=postgres_url, schema=empty_schema).stdout)
    assert status == {"applied": ALL, "pending": [], "timescaledb": False}


def test_status_on_empty_database_lists_pending(postgres_url: str, empty_schema: str) -> None:
    status = json.loads(run_cli("db", "status", "--json", url=postgres_url, schema=empty_schema).stdout)
    assert status["applied"] == [] and status["pending"] == ALL


def test_concurrent_migrations_apply_once(postgres_url: str, empty_schema: str) -> None:
    env = os.environ | {"FUHUIYANG_DATABASE_URL": postgres_url, "FUHUIYANG_DATABASE_SCHEMA": empty_schema}
    procs = [
        subprocess.Popen([*FHY, "db", "migrate", "--json"], env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    results = [json.loads(proc.communicate(timeout=300)[0]) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs)
    applied_now = sorted(label for result in results for label in result["applied_now"])
    assert applied_now == ALL


@pytest.mark.timescaledb
def test_timescaledb_gets_hypertables_and_continuous_aggregates(timescaledb_url: str) -> None:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    try:
        run_cli("db", "migrate", url=timescaledb_url, schema=schema)
        status = json.loads(run_cli("db", "status", "--json", url=timescaledb_url, schema=schema).stdout)
        assert status["timescaledb"] is True and status["pending"] == []
        again = json.loads(run_cli("db", "migrate", "--json", url=timescaledb_url, schema=schema).stdout)
        assert again["applied_now"] == []
        with connect(timescaledb_url, schema) as conn:
            hypertables = {r[0] for r in conn.execute(
                "SELECT hypertable_name FROM timescaledb_information.hypertables WHERE hypertable_schema = %s",
                (schema,))}
            aggregates = {r[0] for r in conn.execute(
                "SELECT view_name FROM timescaledb_information.continuous_aggregates WHERE view_schema = %s",
                (schema,))}
            policies = {r[0] for r in conn.execute(
                "SELECT proc_name FROM timescaledb_information.jobs WHERE hypertable_schema = %s", (schema,))}
    finally:
        drop_schema(timescaledb_url, schema)
    assert {"readings", "weighings", "frames", "detections", "health"} <= hypertables
    assert aggregates == {"env_hourly", "env_daily", "weighing_daily"}
    assert {"policy_compression", "policy_retention", "policy_refresh_continuous_aggregate"} <= policies
