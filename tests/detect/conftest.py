"""A farm with one house, flock, gateway and camera: where the detector's deaths are placed."""

from __future__ import annotations

from datetime import date

import pytest

from tests.support.databases import TestDatabase


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
