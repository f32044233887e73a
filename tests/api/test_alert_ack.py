"""Acknowledging an alert in the app goes through the alert engine: the alert's own log gets the
step, and the live stream (NOTIFY -> AlertFeed -> SSE) tells the farmer's other screens."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from cloud.alerts.lifecycle import AlertEngine
from cloud.alerts.model import (
    HEAT_STRESS,
    HUMIDITY_RANGE,
    NH3_HIGH,
    AlertKey,
    Finding,
    Severity,
)
from cloud.alerts.store_pg import PgAlertStore, notify_channel
from protocol import Kind, decode, topic_for
from tests.api import world
from tests.api.conftest import ApiWorld


def wait_for_feed(api: ApiWorld, timeout_s: float = 20.0) -> None:
    """The app's alert feed LISTENs on its own connection: wait until it does."""
    listen = f'LISTEN "{notify_channel(api.db.schema)}"'
    deadline = time.monotonic() + timeout_s
    with api.db.connect() as conn:
        conn.autocommit = True
        while time.monotonic() < deadline:
            row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE query = %s", (listen,)).fetchone()
            if row is not None and row[0] > 0:
                return
            time.sleep(0.05)
    raise AssertionError("the API's alert feed never listened")


def streamed(api: ApiWorld, username: str, uid: str, kind: str, timeout_s: float = 20.0) -> dict[str, Any]:
    """The first event for alert `uid` of this kind on the user's SSE stream (replayed from the start)."""
    api.client.app.state.alert_stream_keepalive_s = 0.2  # type: ignore[attr-defined]
    headers = {**api.headers(username), "Last-Event-ID": "0"}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with api.client.stream("GET", "/api/v1/alerts/stream", headers=headers) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith("data: "):
                    data: dict[str, Any] = json.loads(line.removeprefix("data: "))
                    if data["alert"]["id"] == uid and data["kind"] == kind:
                        return data
                elif line.startswith(":"):  # a keepalive: nothing more queued for now
                    break
        time.sleep(0.1)
    raise AssertionError(f"no {kind} event for {uid} on the stream")


def alert_log(api: ApiWorld, row_id: int) -> tuple[list[list[Any]], str, int | None]:
    with api.db.connect() as conn:
        row = conn.execute("SELECT evidence, state, acknowledged_by FROM alerts WHERE id = %s", (row_id,)).fetchone()
    assert row is not None
    return row[0]["audit"], row[1], row[2]


def check_acknowledged(api: ApiWorld, row_id: int, username: str) -> None:
    user = api.ids["users"][username]
    audit, state, by = alert_log(api, row_id)
    assert state == "acknowledged" and by == user
    assert [entry[1:3] for entry in audit] == [["acknowledged", f"user:{user}"]]
    with api.db.connect() as conn:
        uid = PgAlertStore(conn).by_row(row_id)
    assert uid is not None
    event = streamed(api, username, uid.id, "acknowledged")
    assert event["state"] == "acknowledged" and event["alert"]["acknowledged_by"] == f"user:{user}"


@pytest.mark.timeout(90)
def test_acknowledging_in_the_app_writes_the_alerts_log_and_tells_the_stream(api: ApiWorld) -> None:
    wait_for_feed(api)
    row_id = api.ids["alerts"]["f1"]  # a row the engine did not write: adopted on the way
    r = api.client.post(f"/api/v1/alerts/{row_id}/acknowledge", headers=api.headers("farmer1"))
    assert r.status_code == 200 and r.json()["state"] == "acknowledged", r.text
    check_acknowledged(api, row_id, "farmer1")
    again = api.client.post(f"/api/v1/alerts/{row_id}/acknowledge", headers=api.headers("farmer1"))
    assert again.status_code == 200 and len(alert_log(api, row_id)[0]) == 1  # a second tap changes nothing


@pytest.mark.timeout(90)
def test_acknowledging_an_engine_alert_keeps_its_history(api: ApiWorld) -> None:
    wait_for_feed(api)
    key = AlertKey("f1", world.house("f1"), NH3_HIGH)
    with api.db.connect() as conn:
        engine = AlertEngine(store=PgAlertStore(conn))
        engine.observe(Finding(key, Severity.WARNING, world.NOW, "nh3_above", 22.0, 20.0))
        row = conn.execute("SELECT id FROM alerts WHERE dedup_key = %s", (str(key),)).fetchone()
    assert row is not None
    r = api.client.post(f"/api/v1/alerts/{row[0]}/acknowledge", headers=api.headers("farmer1"))
    assert r.status_code == 200 and r.json()["acknowledged_by"] == api.ids["users"]["farmer1"]
    audit, state, _ = alert_log(api, row[0])
    assert state == "acknowledged"
    assert [entry[1] for entry in audit][0] == "opened" and audit[-1][1:3] == [
        "acknowledged", f"user:{api.ids['users']['farmer1']}"]


def test_acknowledging_a_hot_house_tells_the_farms_gateways_to_silence_their_alarm(api: ApiWorld) -> None:
    """The local alarm feeds the heat-stress alert: acknowledging it in the app sends each of the
    farm's gateways a retained AlarmAck naming the gateway rules of that condition and house."""
    house = world.house("f1")
    key = AlertKey("f1", house, HEAT_STRESS)
    with api.db.connect() as conn:
        AlertEngine(store=PgAlertStore(conn)).observe(Finding(key, Severity.CRITICAL, world.NOW, "thi_emergency", 34.0, 30.5))
        row = conn.execute("SELECT id FROM alerts WHERE dedup_key = %s", (str(key),)).fetchone()
        gateways = [r[0] for r in conn.execute("SELECT id FROM gateways WHERE farm_id = 'f1' ORDER BY id")]
    assert row is not None and gateways
    api.publisher.sent.clear()
    r = api.client.post(f"/api/v1/alerts/{row[0]}/acknowledge", headers=api.headers("farmer1"))
    assert r.status_code == 200, r.text
    acks = [(topic, decode(Kind.ALARM_ACK, payload)) for topic, payload in api.publisher.sent]
    assert [topic for topic, _ in acks] == [topic_for(gw, Kind.ALARM_ACK) for gw in gateways]
    assert all(a.house == house and a.types == ["temperature_emergency"] for _, a in acks)
    # An alert no gateway rule feeds tells no gateway.
    nh3 = AlertKey("f1", house, HUMIDITY_RANGE)
    with api.db.connect() as conn:
        AlertEngine(store=PgAlertStore(conn)).observe(Finding(nh3, Severity.WARNING, world.NOW, "humidity_high", 80.0, 70.0))
        other = conn.execute("SELECT id FROM alerts WHERE dedup_key = %s", (str(nh3),)).fetchone()
    assert other is not None
    api.publisher.sent.clear()
    assert api.client.post(f"/api/v1/alerts/{other[0]}/acknowledge", headers=api.headers("farmer1")).status_code == 200
    assert api.publisher.sent == []
