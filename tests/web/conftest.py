"""The whole app (API + web pages) on the test world."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api import world
from tests.api.conftest import ApiWorld, make_world
from tests.support.databases import TestDatabase
from tests.web.browser import chromium, live_server


@pytest.fixture
def web(db: TestDatabase) -> Iterator[ApiWorld]:
    yield from make_world(db, with_web=True)


@pytest.fixture
def site(db: TestDatabase, tmp_path: Path) -> Iterator[tuple[ApiWorld, str]]:
    """The test world served on a real port, for a browser (a module may define its own)."""
    for api in make_world(db, with_web=True, frames_dir=tmp_path):
        with live_server(api.client.app) as url:
            yield api, url


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium; the module skips first when Playwright or Chromium is missing."""
    with chromium() as b:
        yield b


def browser_login(client: TestClient, username: str) -> TestClient:
    """Log in through the form, as a browser would (the cookie stays on the client)."""
    client.cookies.clear()
    r = client.post("/login", data={"username": username, "password": world.password(username)},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return client
