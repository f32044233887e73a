"""Alerts of the caller's farms and regions, and acknowledging them."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import psycopg

from cloud.alerts import actions
from cloud.alerts.gateway_events import alarm_acks
from cloud.api import audit
from cloud.api.errors import ApiError, forbidden, not_found
from cloud.api.pagination import PageParams
from cloud.api.scope import Scope, may
from cloud.api.services.catalog import scope_params
from cloud.api.services.paging import one, page
from messaging.publisher import ConfigPublisher
from protocol import Kind, encode, topic_for

log = logging.getLogger(__name__)

ALERT_COLS = ("id, type, severity, state, farm_id, house_id, gateway_id, region_id, event_start, event_end, "
              "raised_at, acknowledged_at, acknowledged_by, title, advice, evidence")
# Farm alerts by farm; regional alerts (no farm) by region.
ALERT_SCOPE = ("(%(farms)s::text[] IS NULL OR farm_id = ANY(%(farms)s::text[]) "
               "OR (farm_id IS NULL AND region_id = ANY(%(regions)s::text[])))")


def visible(scope: Scope, alert: dict[str, Any]) -> bool:
    if alert["farm_id"] is not None:
        return scope.farm_visible(alert["farm_id"])
    return scope.all or (alert["region_id"] is not None and scope.region_visible(alert["region_id"]))


def list_alerts(conn: psycopg.Connection, scope: Scope, paging: PageParams, state: str | None = None,
                farm_id: str | None = None, severity: str | None = None) -> tuple[list[dict[str, Any]], int]:
    where = ALERT_SCOPE
    params = scope_params(scope)
    if state == "live":
        where += " AND state <> 'resolved'"
    elif state is not None:
        where += " AND state = %(state)s"
        params["state"] = state
    if farm_id is not None:
        where += " AND farm_id = %(farm)s"
        params["farm"] = farm_id
    if severity is not None:
        where += " AND severity = %(severity)s"
        params["severity"] = severity
    return page(conn, ALERT_COLS, f"alerts WHERE {where}",
                "CASE state WHEN 'open' THEN 0 WHEN 'acknowledged' THEN 1 ELSE 2 END, "
                "CASE severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, raised_at DESC, id DESC",
                params, paging)


def get_alert(conn: psycopg.Connection, scope: Scope, alert_id: int) -> dict[str, Any]:
    row = one(conn, f"SELECT {ALERT_COLS} FROM alerts WHERE id = %s", (alert_id,))
    if row is None or not visible(scope, row):
        raise not_found("alert", alert_id)
    return row


def acknowledge(conn: psycopg.Connection, scope: Scope, alert_id: int, at: datetime,
                publisher: ConfigPublisher | None = None) -> dict[str, Any]:
    alert = get_alert(conn, scope, alert_id)
    if not may(scope.principal, "acknowledge_alert"):
        raise forbidden()
    if alert["state"] == "resolved":
        raise ApiError(409, "conflict", "the alert is already resolved")
    # Through the engine, as an SMS reply does: the alert's log and the live stream hear of it.
    if alert["state"] == "open" and actions.acknowledge(conn, alert_id, scope.principal.user_id, at):
        audit.record(conn, scope.principal.user_id, "acknowledge", "alert", str(alert_id), {"type": alert["type"]})
        if publisher is not None:
            _silence_gateways(conn, alert, publisher, at)
    return get_alert(conn, scope, alert_id)


def _silence_gateways(conn: psycopg.Connection, alert: dict[str, Any], publisher: ConfigPublisher,
                      at: datetime) -> None:
    """The farm's gateways silence their local alarm for this condition (retained, so a gateway
    offline now hears it on its return). Committed first: the broker is never ahead of the database."""
    if alert.get("farm_id") is None:
        return
    rows = conn.execute("SELECT id FROM gateways WHERE farm_id = %s AND revoked_at IS NULL ORDER BY id",
                        (alert["farm_id"],)).fetchall()
    gateways = [str(row[0]) for row in rows]
    acks = alarm_acks(alert["type"], alert.get("house_id"), gateways, at)
    if not acks:
        return
    conn.commit()
    for ack in acks:
        try:
            publisher.publish(topic_for(ack.gateway_id, Kind.ALARM_ACK), encode(ack))
        except Exception as exc:  # broker down: the acknowledgement stands; the farm's button still works
            log.warning("telling gateway %s of the acknowledgement failed: %s", ack.gateway_id, exc)
