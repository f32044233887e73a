"""An API app on a fresh schema with the test world, and logged-in clients per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cloud.frames_store import FrameStore
from cloud.settings import CloudSettings
from fuhuiyang.processes.api import build_app
from messaging.publisher import RecordingPublisher
from tests.api import world
from tests.support.databases import TestDatabase

SECRET = "test-secret-0123456789abcdef-0123456789"


@dataclass
class ApiWorld:
    db: TestDatabase
    client: TestClient
    ids: dict[str, Any]
    publisher: RecordingPublisher
    tokens: dict[str, str]

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


def make_world(database: TestDatabase, with_web: bool = False, frames: FrameStore | None = None,
               **overrides: Any) -> Iterator[ApiWorld]:
    with database.connect() as conn:
        ids = world.seed(conn)
    settings = CloudSettings(database_url=database.url, database_schema=database.schema,
                             jwt_secret=SECRET, api_pool_size=1 if database.timescaledb else 2,
                             database_prepared_statements=not database.timescaledb,  # one shared PGlite backend
                             api_alert_feed=not database.timescaledb,  # PGlite serves one connection
                             **overrides)
    publisher = RecordingPublisher()
    app = build_app(settings, publisher=publisher, frames=frames, with_web=with_web, clock=lambda: world.NOW)
    with TestClient(app) as client:
        tokens = {}
        for username in world.USERS:
            r = client.post("/api/v1/auth/token", data={"username": username, "password": world.password(username)})
            assert r.status_code == 200, r.text
            tokens[username] = r.json()["access_token"]
        yield ApiWorld(database, client, ids, publisher, tokens)


@pytest.fixture
def api(db: TestDatabase) -> Iterator[ApiWorld]:
    yield from make_world(db)


@pytest.fixture
def api_any(any_db: TestDatabase) -> Iterator[ApiWorld]:
    yield from make_world(any_db)
