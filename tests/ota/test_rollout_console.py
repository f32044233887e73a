"""The console's rollouts page: a technician starts a rollout in their area, sees its stages,
halts it; a rollout outside the area is refused with the reason; another county's staff see nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cloud.releases import rollouts
from cloud.releases.store import ReleaseStore
from tests.api.conftest import ApiWorld, make_world
from tests.ota.bundles import signed
from tests.support.databases import TestDatabase
from tests.web.conftest import browser_login


@pytest.fixture
def web(db: TestDatabase, tmp_path: Path) -> Iterator[ApiWorld]:
    yield from make_world(db, with_web=True, releases_dir=tmp_path / "releases")


def test_console_rollouts(web: ApiWorld, tmp_path: Path) -> None:
    bundle, release = signed("6.0.0", Ed25519PrivateKey.generate())
    with web.db.connect() as conn:
        rollouts.register_release(conn, ReleaseStore(tmp_path / "releases"), release, bundle, notes="修复称重")
    c = browser_login(web.client, "tech1")
    page = c.get("/console/rollouts")
    assert page.status_code == 200 and "6.0.0" in page.text and "修复称重" in page.text
    refused = c.post("/console/rollouts", data={"version": "6.0.0", "stages": "gateways:gw-f3"})
    assert refused.status_code == 404 and "not found in your area" in refused.text
    started = c.post("/console/rollouts", data={"version": "6.0.0", "stages": "gateways:gw-f1\nregion:c1"},
                     follow_redirects=False)
    assert started.status_code == 303
    url = started.headers["location"]
    shown = c.get(url).text
    assert "gateways:gw-f1" in shown and "region:c1" in shown and "进行中" in shown
    halted = c.post(f"{url}/action", data={"action": "halt"}, follow_redirects=False)
    assert halted.status_code == 303 and "已暂停" in c.get(url).text
    again = c.post(f"{url}/action", data={"action": "halt"})
    assert again.status_code == 422 and "not running" in again.text
    c = browser_login(web.client, "staff2")
    assert c.get(url).status_code in (403, 404)
