"""Ownership at ingest: a gateway writes only into its own farm.

The alert worker, reports and the API read readings, weighings and frames by house, so a
house id in a message is what could carry one farm's gateway into another farm. Every house a
message names must be a house of the sending gateway's farm (gateways.farm_id ->
houses.farm_id); a gateway unknown to the cloud owns nothing. Sensor, scale and camera ids are
per gateway by construction (sensors and cameras are keyed by (gateway_id, id), event rows
carry the sender's gateway_id), so they cannot name another gateway's device; what they are
filed under is the house, checked here.

A violating message is quarantined whole, with its payload and a reason: splitting it would
keep rows whose house the gateway is evidently confused about, and the quarantine keeps the
payload for a person to replay once the farm's houses are set up.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psycopg

from cloud.ingest.arrays import literals
from cloud.ingest.rows import Accepted, Rejection
from protocol import Alert, Frame, Telemetry, Weighing

FARMS_SQL = """
SELECT g.id, g.farm_id, coalesce(array_agg(h.id) FILTER (WHERE h.id IS NOT NULL), '{}')
FROM gateways g LEFT JOIN houses h ON h.farm_id = g.farm_id
WHERE g.id = ANY(%s::text[])
GROUP BY g.id, g.farm_id"""


@dataclass(frozen=True)
class Farm:
    id: str
    houses: frozenset[str]


def load_farms(cur: psycopg.Cursor, gateway_ids: Iterable[str]) -> dict[str, Farm]:
    """The farm (and its houses) of each known gateway among `gateway_ids`."""
    ids = sorted(set(gateway_ids))
    if not ids:
        return {}
    cur.execute(FARMS_SQL, literals(FARMS_SQL, [ids]))
    return {gw: Farm(farm, frozenset(houses)) for gw, farm, houses in cur.fetchall()}


def houses_named(message: object) -> set[str]:
    if isinstance(message, Telemetry):
        return {p.house for p in message.points if p.house is not None}
    if isinstance(message, Weighing):
        named = {s.house for s in message.summaries if s.house is not None}
        return named | ({message.house} if message.house is not None else set())
    if isinstance(message, Frame):
        return {message.meta.house} if message.meta.house is not None else set()
    if isinstance(message, Alert):
        return {message.house} if message.house is not None else set()
    return set()


def check(item: Accepted, farms: dict[str, Farm]) -> Rejection | None:
    """`unknown_gateway` for a sender the cloud has not provisioned, `foreign_house` for a house
    outside the sender's farm, else None."""
    farm = farms.get(item.gateway_id)
    if farm is None:
        return item.reject("unknown_gateway", f"gateway {item.gateway_id!r} is not provisioned to a farm")
    foreign = houses_named(item.message) - farm.houses
    if foreign:
        return item.reject("foreign_house",
                           f"house {sorted(foreign)[0]!r:.70} is not a house of farm {farm.id!r:.70}")
    return None
