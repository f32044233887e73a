"""Fleet uplink: seq, outages held back and released in order, power loss, real broker."""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from firmware_sim.fleet import Fleet, FleetTick, GatewayTick
from firmware_sim.fleet_uplink import FleetUplink, publish_fleet
from firmware_sim.gateway import SimReading
from firmware_sim.scenario import load_scenario
from protocol import Kind, decode, parse_topic


def tick(ts: int, *, powered: bool = True, up: bool = True) -> FleetTick:
    reading = SimReading(ts, "h1", "h1-th", 1, "temperature_c", 25.0)
    return FleetTick(ts, (GatewayTick("gw-a", ts, powered, up, (reading,)),))


def test_outage_holds_back_and_releases_oldest_first() -> None:
    up = FleetUplink()
    base = 1_782_864_000_000
    first = up.step(tick(base))
    assert [parse_topic(m.topic).kind for m in first] == [Kind.STATUS, Kind.TELEMETRY]
    assert first[0].retain and decode(Kind.STATUS, first[0].payload).state == "online"
    assert up.step(tick(base + 60_000, up=False)) == []
    assert up.step(tick(base + 120_000, up=False)) == []
    back = up.step(tick(base + 180_000))
    msgs = [decode(Kind.TELEMETRY, m.payload) for m in back]
    assert [m.points[0].ts for m in msgs] == [base + 60_000, base + 120_000, base + 180_000]
    assert [m.seq for m in msgs] == sorted(m.seq for m in msgs)
    assert up.stats.held_back == 2 and up.stats.released == 2
    dark = up.step(tick(base + 240_000, powered=False))
    assert len(dark) == 1 and decode(Kind.STATUS, dark[0].payload).state == "offline"
    again = up.step(tick(base + 300_000))
    assert decode(Kind.STATUS, again[0].payload).state == "online"
    seqs = [decode(Kind.STATUS, again[0].payload).seq, decode(Kind.TELEMETRY, again[1].payload).seq]
    assert seqs[0] < seqs[1] and seqs[0] > msgs[-1].seq


def test_backlog_cap_drops_oldest_and_counts() -> None:
    up = FleetUplink(backlog_cap=3)
    base = 1_782_864_000_000
    up.step(tick(base))
    for i in range(1, 6):
        up.step(tick(base + i * 60_000, up=False))
    released = up.step(tick(base + 360_000))
    assert up.stats.dropped == 2
    assert [decode(Kind.TELEMETRY, m.payload).points[0].ts for m in released] == [
        base + 180_000, base + 240_000, base + 300_000, base + 360_000]


@pytest.mark.skipif(shutil.which("mosquitto") is None, reason="needs mosquitto for a private broker")
def test_publishes_to_a_real_broker(mosquitto_factory: Callable[..., Any]) -> None:
    import paho.mqtt.client as mqtt

    broker = mosquitto_factory()
    got: list[str] = []
    lock = threading.Lock()
    sub = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id="fleet-test-sub")

    def on_message(_c: Any, _u: Any, msg: Any) -> None:
        with lock:
            got.append(msg.topic)

    sub.on_message = on_message
    sub.connect("127.0.0.1", broker.port)
    sub.subscribe("fhy/v1/+/#", qos=1)
    sub.loop_start()
    try:
        time.sleep(0.3)
        fleet = Fleet(load_scenario("fleet"), limit=5)
        summary = publish_fleet(fleet, host="127.0.0.1", port=broker.port, ticks=3, interval_s=60)
        assert summary["published"] == 5 + 15 and summary["telemetry"] == 15
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and len(got) < 20:
            time.sleep(0.05)
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert sum(t.endswith("/telemetry") for t in got) == 15
    assert sum(t.endswith("/status") for t in got) == 5
