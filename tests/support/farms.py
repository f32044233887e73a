"""Register farms, houses and gateways as provisioning would: ingest stores only what a gateway
sends about its own farm's houses (cloud/ingest/ownership.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def register(conn: Any, farm: str, gateways: Iterable[str], houses: Iterable[str] = ("h1",),
             region: str = "r1") -> None:
    """Idempotent; commits. A house id is global, so one house belongs to one farm only.
    Statements are never prepared: the PGlite engine is one session shared by all connections."""
    conn.execute("INSERT INTO regions (id, level, name) VALUES (%s, 'county', 'R') ON CONFLICT DO NOTHING",
                 (region,), prepare=False)
    conn.execute("INSERT INTO farms (id, name, region_id) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                 (farm, farm, region), prepare=False)
    for house in houses:
        conn.execute("INSERT INTO houses (id, farm_id, name) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                     (house, farm, house), prepare=False)
    for gateway in gateways:
        conn.execute("INSERT INTO gateways (id, farm_id) VALUES (%s, %s) ON CONFLICT DO NOTHING", (gateway, farm), prepare=False)
    conn.commit()
