"""Commands explain a missing database, broker or file in one line (no traceback, exit != 0),
and `bench ingest` starts an embedded PostgreSQL when the configured one has no database."""

from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from fuhuiyang.errors import explain
from fuhuiyang.services.net import free_port
from tests.support.databases import TestDatabase

ROOT = Path(__file__).parents[2]


def fuhuiyang(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("FUHUIYANG_")}
    return subprocess.run([sys.executable, "-m", "fuhuiyang", *args], env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def closed_port() -> int:
    port = free_port()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0
    return port


def test_a_database_that_does_not_exist(postgres_url: str) -> None:
    url = postgres_url.rsplit("/", 1)[0] + "/fuhuiyang_no_such_db"
    for args in (["db", "status", "--json"], ["db", "migrate"],
                 ["reports", "frame", "--kind", "records", "--out", "/tmp/never.parquet"]):
        line = one_line(fuhuiyang(*args, env={"FUHUIYANG_DATABASE_URL": url}))
        assert 'database "fuhuiyang_no_such_db" does not exist' in line, args


def test_a_closed_port() -> None:
    port = closed_port()
    line = one_line(fuhuiyang("cloud", "web", "weekly-reports",
                              env={"FUHUIYANG_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{port}/x"}))
    assert f"no PostgreSQL server answers at 127.0.0.1:{port}" in line
    line = one_line(fuhuiyang("bench", "ingest", "--json", "--mqtt-url", f"mqtt://127.0.0.1:{port}"))
    assert f"no MQTT broker answers at 127.0.0.1:{port}" in line
    line = one_line(fuhuiyang("sim", "fleet", "--mqtt", f"mqtt://127.0.0.1:{port}", "--ticks", "1", "--limit", "1"))
    assert "Connection refused" in line


def test_a_schema_that_was_never_migrated(postgres_url: str) -> None:
    env = {"FUHUIYANG_DATABASE_URL": postgres_url, "FUHUIYANG_DATABASE_SCHEMA": "never_migrated_here"}
    line = one_line(fuhuiyang("alerts", "run", "--once", env=env))
    assert "fuhuiyang db migrate" in line


def test_a_missing_file(db: TestDatabase, tmp_path: Path) -> None:
    line = one_line(fuhuiyang("alerts", "backtest", "--records", str(tmp_path / "nope.csv"), "--birds-placed", "100"))
    assert "nope.csv" in line
    (tmp_path / "plain.txt").write_text("a file, not a folder")
    env = {**db.env(), "FUHUIYANG_MOSQUITTO_PASSWORD_FILE": str(tmp_path / "plain.txt" / "passwd"),
           "FUHUIYANG_MOSQUITTO_ACL_FILE": str(tmp_path / "plain.txt" / "acl")}
    line = one_line(fuhuiyang("cloud", "provision", "sync", env=env))
    assert "plain.txt" in line


def test_explain_walks_the_chain_and_leaves_bugs_alone() -> None:
    try:
        try:
            open("/nonexistent/dir/file.txt")  # noqa: SIM115
        except FileNotFoundError as exc:
            raise RuntimeError("loading the settings failed") from exc
    except RuntimeError as wrapped:
        assert explain(wrapped) == ("file", "no such file or directory: /nonexistent/dir/file.txt")
    assert explain(ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"))[0] == "connection"  # type: ignore[index]
    assert explain(KeyError("x")) is None and explain(ValueError("bad")) is None
    with pytest.raises(psycopg.OperationalError) as err:
        psycopg.connect(f"postgresql://postgres@127.0.0.1:{closed_port()}/x", connect_timeout=3)
    assert explain(err.value) is not None


def test_bench_ingest_starts_an_embedded_database_when_none_answers(postgres_url: str) -> None:
    """The issue's case: a PostgreSQL without a `fuhuiyang` database; the bench runs on an embedded one."""
    url = postgres_url.rsplit("/", 1)[0] + "/fuhuiyang_no_such_db"
    done = fuhuiyang("bench", "ingest", "--json", "--points", "600", "--points-per-message", "100", "--gateways", "2",
                     "--repeat", "1", "--skip-naive", "--workers", "1", env={"FUHUIYANG_DATABASE_URL": url},
                     timeout=400)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    result = json.loads(done.stdout)
    assert result["database_server"] == "embedded" and result["lost"] == 0 and result["points_per_s"] > 0


def test_services_name_what_is_missing_at_start(db: TestDatabase, postgres_url: str, mqtt_broker: Any) -> None:
    from cloud.settings import CloudSettings
    from fuhuiyang.processes import preflight

    port = closed_port()
    missing = preflight.problems(CloudSettings(database_url=f"postgresql://postgres@127.0.0.1:{port}/x",
                                               mqtt_url=f"mqtt://127.0.0.1:{port}"))
    assert missing == [f"no PostgreSQL server answers at 127.0.0.1:{port} (connection refused): start it or set "
                       "FUHUIYANG_DATABASE_URL", f"no MQTT broker answers at 127.0.0.1:{port} (FUHUIYANG_MQTT_URL)"]
    unmigrated = preflight.problems(CloudSettings(database_url=postgres_url, database_schema="never_migrated_here"),
                                    broker=False)
    assert len(unmigrated) == 1 and "fuhuiyang db migrate" in unmigrated[0]
    assert preflight.problems(CloudSettings(database_url=db.url, database_schema=db.schema,
                                            mqtt_url=mqtt_broker.url)) == []


def test_a_setting_that_is_not_valid() -> None:
    line = one_line(fuhuiyang("db", "status", env={"FUHUIYANG_JWT_TTL_MINUTES": "twelve"}))
    assert line.startswith("Error: invalid settings in the environment: FUHUIYANG_JWT_TTL_MINUTES: ")
