"""Fault tests: the servers are the tests' own, so the tests may stop and restart them."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cloud.db.connection import connect
from cloud.db.migrate import migrate
from fuhuiyang.services.postgres import EmbeddedPostgres
from tests.faults.streams import PROBE, Gateways
from tests.support.farms import register

_counts: list[str] = []


class PrivatePostgres:
    """An embedded PostgreSQL server in a temp dir; its URL stays the same across restarts."""

    def __init__(self, data_dir: Path) -> None:
        self._server = EmbeddedPostgres(data_dir)
        self.url = self._server.start()

    def stop(self) -> None:
        self._server.stop()

    def start(self) -> None:
        url = self._server.start()
        assert url == self.url


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres(Path(tempfile.mkdtemp(prefix="fhy-fault-pg-")) / "data")
    with connect(server.url, "public", autocommit=True) as conn:
        migrate(conn, "public")
    with connect(server.url, "public") as conn:  # ingest stores only what provisioned gateways send
        register(conn, "farm-fault", [PROBE, *Gateways.ids_for(5), "gw-edge"], houses=["h1"])
    yield server
    server.stop()


@pytest.fixture
def report_counts(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Record a fault test's published/stored counts for the run's summary."""

    def record(**counts: object) -> None:
        _counts.append(f"{request.node.name}: " + ", ".join(f"{k}={v}" for k, v in counts.items()))

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _counts:
        terminalreporter.write_sep("-", "fault tests: published vs stored")
        for line in _counts:
            terminalreporter.write_line(line)
