"""Gateways of the caller's farms: health, sensors, cameras and the desired-config history."""

from __future__ import annotations

import logging
import time
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from cloud.api import audit, gateway_config
from cloud.api.errors import ApiError, forbidden, not_found
from cloud.api.pagination import PageParams
from cloud.api.scope import Scope, may, region_subtree
from cloud.api.services.catalog import FARM_IN_SCOPE, scope_params
from cloud.api.services.paging import one, page, rows
from messaging.publisher import ConfigPublisher
from protocol import codec
from protocol.messages import DesiredConfig
from protocol.topics import Kind, topic_for

log = logging.getLogger(__name__)

# Latest health row per gateway plus fault counts: what a technician scans first.
GATEWAY_SELECT = """
g.id, g.farm_id, g.software, g.status, g.last_seen, g.revoked_at IS NOT NULL AS revoked,
g.desired_version, g.applied_version, g.applied_status, g.applied_error,
hl.outbox_depth, hl.outbox_oldest_age_s, hl.ts AS health_at,
(SELECT count(*) FROM sensors s WHERE s.gateway_id = g.id AND (s.state <> 'ok' OR cardinality(s.faults) > 0))
    AS sensor_faults,
(SELECT count(*) FROM cameras c WHERE c.gateway_id = g.id AND c.state <> 'ok') AS cameras_not_ok
"""
GATEWAY_FROM = """gateways g LEFT JOIN LATERAL (
    SELECT h.outbox_depth, h.outbox_oldest_age_s, h.ts FROM health h
    WHERE h.gateway_id = g.id ORDER BY h.ts DESC LIMIT 1) hl ON true"""


def list_gateways(conn: psycopg.Connection, scope: Scope, paging: PageParams, farm_id: str | None = None,
                  region_id: str | None = None) -> tuple[list[dict[str, Any]], int]:
    where = FARM_IN_SCOPE.format(col="g.farm_id")
    params = scope_params(scope)
    if farm_id is not None:
        where += " AND g.farm_id = %(farm)s"
        params["farm"] = farm_id
    if region_id is not None:
        params["under"] = region_subtree(conn, [region_id])
        where += " AND g.farm_id IN (SELECT id FROM farms WHERE region_id = ANY(%(under)s::text[]))"
    return page(conn, GATEWAY_SELECT, f"{GATEWAY_FROM} WHERE {where}", "g.id", params, paging)


def get_gateway(conn: psycopg.Connection, scope: Scope, gateway_id: str) -> dict[str, Any]:
    row = one(conn, f"SELECT {GATEWAY_SELECT} FROM {GATEWAY_FROM} WHERE g.id = %s", (gateway_id,))
    if row is None or not scope.farm_visible(row["farm_id"]):
        raise not_found("gateway", gateway_id)
    return row


def sensors(conn: psycopg.Connection, scope: Scope, gateway_id: str) -> list[dict[str, Any]]:
    get_gateway(conn, scope, gateway_id)
    return rows(conn, "SELECT gateway_id, id, house_id, metric, state, faults, updated_at FROM sensors "
                      "WHERE gateway_id = %s ORDER BY id", (gateway_id,))


def cameras(conn: psycopg.Connection, scope: Scope, gateway_id: str) -> list[dict[str, Any]]:
    get_gateway(conn, scope, gateway_id)
    return rows(conn, "SELECT gateway_id, id, house_id, state, updated_at FROM cameras "
                      "WHERE gateway_id = %s ORDER BY id", (gateway_id,))


def config_history(conn: psycopg.Connection, scope: Scope, gateway_id: str, paging: PageParams
                   ) -> tuple[list[dict[str, Any]], int]:
    get_gateway(conn, scope, gateway_id)
    return page(conn, "version, config, created_by, created_at", "gateway_configs WHERE gateway_id = %(gw)s",
                "version DESC", {"gw": gateway_id}, paging)


def current_config(conn: psycopg.Connection, gateway_id: str) -> tuple[int, dict[str, Any]]:
    row = one(conn, "SELECT desired_version, desired_config FROM gateways WHERE id = %s", (gateway_id,))
    assert row is not None
    return int(row["desired_version"]), row["desired_config"] or {}


def applied_config(conn: psycopg.Connection, gateway_id: str) -> dict[str, Any] | None:
    """The overlay the gateway last reported applying, or None before its first answer."""
    row = one(conn, "SELECT c.config FROM gateways g JOIN gateway_configs c ON c.gateway_id = g.id "
                    "AND c.version = g.applied_version WHERE g.id = %s", (gateway_id,))
    return None if row is None else dict(row["config"])


def check_config(conn: psycopg.Connection, scope: Scope, gateway_id: str, config: Any) -> dict[str, Any]:
    get_gateway(conn, scope, gateway_id)
    version, old = current_config(conn, gateway_id)
    problems = gateway_config.validate(config)
    changes = gateway_config.diff(old, config) if isinstance(config, dict) else []
    return {"valid": not problems, "problems": problems, "diff": changes, "base_version": version}


def push_config(conn: psycopg.Connection, scope: Scope, gateway_id: str, config: dict[str, Any],
                publisher: ConfigPublisher, expected_version: int | None = None) -> dict[str, Any]:
    """Validate, store as the next version, then publish retained; the push is kept even if
    publishing fails (the gateway reads the retained message when the broker next has it)."""
    gateway = get_gateway(conn, scope, gateway_id)
    if not may(scope.principal, "push_config"):
        raise forbidden()
    if gateway["revoked"]:
        raise ApiError(409, "conflict", f"gateway {gateway_id} is revoked")
    problems = gateway_config.validate(config)
    if problems:
        raise ApiError(422, "invalid_config", "the config is not valid", problems)
    locked = one(conn, "SELECT desired_version, desired_config FROM gateways WHERE id = %s FOR UPDATE",
                 (gateway_id,))
    assert locked is not None
    if expected_version is not None and locked["desired_version"] != expected_version:
        raise ApiError(409, "conflict", f"desired version is {locked['desired_version']}, not {expected_version}")
    changes = gateway_config.diff(locked["desired_config"] or {}, config)
    if not changes and locked["desired_version"] > 0:
        raise ApiError(409, "unchanged", "the config is the same as the current desired config")
    version = int(locked["desired_version"]) + 1
    conn.execute("UPDATE gateways SET desired_version = %s, desired_config = %s WHERE id = %s",
                 (version, Jsonb(config), gateway_id))
    conn.execute("INSERT INTO gateway_configs (gateway_id, version, config, created_by) VALUES (%s, %s, %s, %s)",
                 (gateway_id, version, Jsonb(config), scope.principal.user_id))
    audit.record(conn, scope.principal.user_id, "push_config", "gateway", gateway_id,
                 {"version": version, "diff": changes})
    conn.commit()  # stored before it is published: a retained message must never be ahead of the database
    # seq = version: the cloud's config stream for a gateway is numbered by its versions.
    message = DesiredConfig(gateway_id=gateway_id, seq=version, version=version,
                            issued_at=int(time.time() * 1000), config=config)
    try:
        publisher.publish(topic_for(gateway_id, Kind.CONFIG_DESIRED), codec.encode(message))
    except Exception as exc:  # broker down: the version is stored; report it, do not fail the push
        log.warning("publishing config v%s for %s failed: %s", version, gateway_id, exc)
        return {"version": version, "diff": changes, "published": False, "publish_error": str(exc)}
    return {"version": version, "diff": changes, "published": True, "publish_error": None}

