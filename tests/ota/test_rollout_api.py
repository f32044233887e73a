"""Rollouts through the API: technicians act only in their area, others see nothing of it;
gateways download bundles with their own broker login."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cloud.provisioning.passwords import hash_password
from cloud.releases import rollouts
from cloud.releases.store import ReleaseStore
from tests.api.conftest import ApiWorld, make_world
from tests.ota.bundles import signed
from tests.support.databases import TestDatabase


@pytest.fixture
def api(db: TestDatabase, tmp_path: Path) -> Iterator[ApiWorld]:
    yield from make_world(db, releases_dir=tmp_path / "releases")


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_rollouts_are_scoped_and_bundles_need_a_gateway_login(api: ApiWorld, tmp_path: Path) -> None:
    bundle, release = signed("5.0.0", Ed25519PrivateKey.generate())
    with api.db.connect() as conn:
        release_id = rollouts.register_release(conn, ReleaseStore(tmp_path / "releases"), release, bundle)
        for gw in ("gw-f1", "gw-f3"):
            conn.execute("UPDATE gateways SET password_hash = %s WHERE id = %s", (hash_password(f"pw-{gw}"), gw))
        conn.commit()
    c, tech = api.client, api.headers("tech1")  # tech1: county c1 (farms f1, f2, f4)

    r = c.post("/api/v1/rollouts", headers=tech, json={"version": "5.0.0", "stages": ["gateways:gw-f3"]})
    assert r.status_code == 404 and "not found in your area" in r.json()["error"]["message"]  # as if absent
    r = c.post("/api/v1/rollouts", headers=tech, json={"version": "5.0.0", "stages": ["region:p"]})
    assert r.status_code == 404  # an ancestor region would reach another county's gateways
    r = c.post("/api/v1/rollouts", headers=api.headers("farmer1"),
               json={"version": "5.0.0", "stages": ["gateways:gw-f1"]})
    assert r.status_code == 403
    r = c.post("/api/v1/rollouts", headers=tech, json={"version": "5.0.0", "stages": ["gateways:gw-f1", "all"]})
    assert r.status_code == 201, r.text
    rollout = r.json()
    assert [s["targets"] for s in rollout["stages"]] == [1, 2]  # "all" is all of tech1's area: f2, f4
    assert [t.split("/")[2] for t, _ in api.publisher.sent] == ["gw-f1"]

    assert [x["id"] for x in c.get("/api/v1/rollouts", headers=tech).json()] == [rollout["id"]]
    assert c.get("/api/v1/rollouts", headers=api.headers("staff2")).json() == []
    assert c.get(f"/api/v1/rollouts/{rollout['id']}", headers=api.headers("staff2")).status_code == 404
    assert c.get(f"/api/v1/rollouts/{rollout['id']}", headers=api.headers("admin")).status_code == 200
    r = c.post(f"/api/v1/rollouts/{rollout['id']}/halt", headers=api.headers("staff2"))
    assert r.status_code in (403, 404)
    r = c.post(f"/api/v1/rollouts/{rollout['id']}/halt", headers=tech)
    assert r.status_code == 200 and r.json()["state"] == "halted"
    r = c.post(f"/api/v1/rollouts/{rollout['id']}/halt", headers=tech)
    assert r.status_code == 422 and "not running" in r.json()["error"]["message"]

    url = f"/api/v1/gateway/releases/{release_id}/bundle"
    r = c.get(url, headers=_basic("gw-f1", "pw-gw-f1"))
    assert r.status_code == 200 and r.content == bundle
    assert c.get(url, headers=_basic("gw-f1", "wrong")).status_code == 401
    assert c.get(url).status_code == 401
    assert c.get(url, headers=tech).status_code == 401  # a user token is not a gateway login
    assert c.get(url, headers=_basic("gw-f3", "pw-gw-f3")).status_code == 404  # not one of its rollouts
