"""A farm with one house, flock, gateway and camera: where the detector's deaths are placed;
the newest two-stage model, for the second stage's tests."""

from __future__ import annotations

import json
from datetime import date

import pytest

from cloud.detect.registry import REGISTRY, ModelEntry, load_entry
from tests.support.databases import TestDatabase


@pytest.fixture(scope="session")
def two_stage() -> ModelEntry:
    """The newest registered model with a refiner (the default model may have none)."""
    if not REGISTRY.exists():
        pytest.skip("no model registered yet")
    models = json.loads(REGISTRY.read_text())["models"]
    names = [name for name, raw in models.items() if "refiner" in raw]
    if not names:
        pytest.skip("no two-stage model registered")
    return load_entry(names[-1])


@pytest.fixture
def farm(db: TestDatabase) -> TestDatabase:
    with db.connect() as conn:
        conn.execute("INSERT INTO regions (id, level, name) VALUES ('cq', 'province', '重庆')")
        conn.execute("INSERT INTO farms (id, name, region_id) VALUES ('f1', '张家鸡场', 'cq')")
        conn.execute("INSERT INTO houses (id, farm_id, name) VALUES ('h1', 'f1', '一号棚')")
        conn.execute("INSERT INTO flocks (id, house_id, breed, placed_on, birds_placed) "
                     "VALUES ('fl1', 'h1', 'ross308', %s, 500)", (date(2026, 5, 1),))
        conn.execute("INSERT INTO gateways (id, farm_id) VALUES ('gw1', 'f1')")
        conn.execute("INSERT INTO cameras (gateway_id, id, house_id) VALUES ('gw1', 'cam1', 'h1')")
        conn.commit()
    return db
