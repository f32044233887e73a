"""The gateway's alarm end to end: a hot house during a 4G outage, then the cloud reconciles.

Real parts: the edge agent (rules, local alarm, outbox, uplink), the simulator's relay/buzzer
module on Modbus TCP and its AT modem over TCP (firmware_sim/alarm_devices.py) driven by the
edge's real drivers, a Mosquitto the test stops and restarts (the outage), ingest writing to
PostgreSQL and sending receipts, and the alert worker texting through a local SMS gateway.
Only the temperature transmitter is scripted (a hot house on demand), on a manual clock that
the simulator's devices share, so every time asserted is event time.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cloud.notify.providers import GenericHttpProvider
from cloud.notify.settings import SmsSettings
from edge.agent import Agent, Devices
from edge.config import parse_config
from edge.drivers.alarm_output import ModbusAlarmOutput
from edge.drivers.modem import AtModem
from edge.outbox import Outbox
from edge.remote import ConfigStore
from edge.uplink import Uplink
from firmware_sim.alarm_devices import AlarmRelay, ModemSim, serve_alarm_devices
from fuhuiyang.processes.alerts import build_worker
from fuhuiyang.services.net import free_port, wait_for_port
from messaging.broker import BrokerAddress
from messaging.publisher import MqttConfigPublisher
from protocol import AlarmAck, Kind, encode, topic_for
from tests.alerts.sms_server import SmsServer
from tests.cloud.conftest import running_ingest, wait_until
from tests.edge.harness import ManualClock, ScriptedSensor
from tests.support.databases import TestDatabase
from tests.support.farms import register

GW = "gw-alarm"
PHONE = "+8613800000001"
MIN = 60_000
# Yesterday 10:00 in China: daytime, so no SMS would wait for morning in any case.
_today = datetime.now(UTC).replace(hour=2, minute=0, second=0, microsecond=0)
T0 = int((_today - timedelta(days=1)).timestamp() * 1000)


class SimAlarmDevices:
    """The simulator's relay module and modem served from an event loop in a thread."""

    def __init__(self, clock: ManualClock) -> None:
        self.relay = AlarmRelay(clock)
        self.modem = ModemSim(clock)
        self.modbus_port, self.modem_port = free_port(), free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.serving: asyncio.Task[None] | None = None
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(10)
        wait_for_port("127.0.0.1", self.modbus_port, 30)
        wait_for_port("127.0.0.1", self.modem_port, 30)

    async def _start(self) -> None:
        self.serving = asyncio.create_task(serve_alarm_devices(
            self.relay, self.modem, host="127.0.0.1", modbus_port=self.modbus_port,
            modem_port=self.modem_port))

    async def _stop(self) -> None:
        assert self.serving is not None
        self.serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.serving
        await asyncio.sleep(0.2)  # the modem's client handlers see their sockets closed

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[tuple[ManualClock, SimAlarmDevices]]:
    clock = ManualClock(T0)
    devices = SimAlarmDevices(clock)
    yield clock, devices
    devices.close()


@pytest.fixture
def sms_gateway() -> Iterator[SmsServer]:
    server = SmsServer().start()
    yield server
    server.stop()


def _seed(db: TestDatabase) -> None:
    with db.connect() as conn:
        register(conn, "f-alarm", (GW,), houses=("h1",))
        farmer = conn.execute("INSERT INTO users (username, password_hash, role, phone) "
                              "VALUES ('zhang', 'x', 'farmer', %s) RETURNING id", (PHONE,)).fetchone()
        assert farmer is not None
        conn.execute("UPDATE farms SET owner_user_id = %s WHERE id = 'f-alarm'", (farmer[0],))
        placed = (datetime.fromtimestamp(T0 / 1000, UTC) - timedelta(days=30)).date()
        conn.execute("INSERT INTO flocks (id, house_id, breed, placed_on, birds_placed) "
                     "VALUES ('fl-alarm', 'h1', 'ross308', %s, 3000)", (placed,))
        conn.commit()


def _agent(port: int, data_dir: Path, clock: ManualClock, sim: SimAlarmDevices,
           temp: Callable[[int], float]) -> Agent:
    doc: dict[str, Any] = {
        "gateway_id": GW, "data_dir": str(data_dir),
        "mqtt": {"host": "127.0.0.1", "port": port, "backoff_min_s": 0.2, "backoff_max_s": 1.0,
                 "connect_timeout_s": 2.0},
        "outbox": {"drain_per_s": 400},
        "sensors": [{"id": "th1", "unit": 1, "interval_s": 60, "house": "h1", "registers": [
            {"metric": "temperature_c", "address": 1, "type": "int16", "scale": 0.1},
            {"metric": "nh3_ppm", "address": 2, "scale": 0.1}]}],
        "alarm": {"output": {"port": sim.modbus_port, "unit": 240, "coil": 0, "ack_input": 0},
                  "modem": {"enabled": True, "url": f"socket://127.0.0.1:{sim.modem_port}", "timeout_s": 5},
                  "farmer_phone": PHONE},
        "telemetry_batch_s": 60, "health_interval_s": 600,
    }
    config = parse_config(doc)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    assert config.alarm.output is not None
    devices = Devices({"th1": ScriptedSensor(clock, temp)}, alarm=ModbusAlarmOutput(config.alarm.output),
                      modem=AtModem(config.alarm.modem))
    return Agent(config, doc, clock, Outbox(config.resolve(config.outbox.path)), devices,
                 ConfigStore(config.resolve(Path("remote-config.json"))), software="test",
                 uplink_factory=lambda c: Uplink(c.mqtt, c.gateway_id))


FAILS, FIXED = T0 + 30 * MIN, T0 + 440 * MIN  # the fans stop as the link goes down; fixed later


def fan_failure(t: int) -> float:
    """A hot afternoon with the fans stopped: the house creeps up 2.5 °C an hour to 37.5 °C, and
    cools as fast once they run again (slower than the cloud's fast-change limit of 3 °C/h)."""
    if t < FAILS:
        return 24.0
    if t < FIXED:
        return min(37.5, 24.0 + 2.5 * (t - FAILS) / 3_600_000)
    return max(24.0, 37.5 - 2.5 * (t - FIXED) / 3_600_000)


def _run_minutes(agent: Agent, clock: ManualClock, minutes: int) -> None:
    for _ in range(minutes):
        clock.now += MIN
        agent.step()


def _retained(port: int, topic: str) -> bytes | None:
    got: list[bytes] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="retained-check")
    client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
    client.on_message = lambda c, u, msg: got.append(bytes(msg.payload))
    client.connect("127.0.0.1", port)
    client.loop_start()
    deadline = time.monotonic() + 10
    while not got and time.monotonic() < deadline:
        time.sleep(0.05)
    client.loop_stop()
    client.disconnect()
    return got[0] if got else None


def _reconnected(agent: Agent, metrics: Any) -> None:
    """Ingest subscribed again first: the test's broker keeps no sessions, so a message published
    before would wait for the gateway's receipt timeout (event time, which stands still here)."""
    wait_until(lambda: metrics.registry.get_sample_value("fhy_ingest_subscribed") == 1, what="ingest resubscribed")
    wait_until(lambda: bool(agent.uplink and agent.uplink.connected), what="gateway reconnected")


def _drain(agent: Agent) -> None:
    """Let the uplink deliver the backlog and the receipts come back (wall time, event time still)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and agent.outbox.depth:
        agent.step()
        time.sleep(0.05)
    assert agent.outbox.depth == 0, "the backlog did not drain"


def test_outage_overheating_sounds_locally_then_one_alert_and_one_farmer_sms(
        db: TestDatabase, mosquitto_factory: Any, sim: tuple[ManualClock, SimAlarmDevices],
        sms_gateway: SmsServer, tmp_path: Path) -> None:
    clock, devices = sim
    broker = mosquitto_factory()
    _seed(db)
    agent = _agent(broker.port, tmp_path / "gw", clock, devices, fan_failure)
    hot_from = next(T0 + m * MIN for m in range(600) if fan_failure(T0 + m * MIN) >= 35.0)
    with running_ingest(db, broker.url, tmp_path / "frames") as (_, metrics, _sub):
        agent.start()
        wait_until(lambda: bool(agent.uplink and agent.uplink.connected), what="gateway connected")
        _run_minutes(agent, clock, 30)  # a normal half hour, online
        _drain(agent)

        broker.stop()  # the 4G link goes down
        wait_until(lambda: not (agent.uplink and agent.uplink.connected), what="gateway sees the outage")
        _run_minutes(agent, clock, (hot_from - clock.now) // MIN - 1)
        assert devices.relay.switchings == []
        _run_minutes(agent, clock, 1)  # the first reading at 35 °C
        _run_minutes(agent, clock, (T0 + 420 * MIN - clock.now) // MIN)  # hot, the link still down
        first_on = devices.relay.switchings[0]
        assert first_on.on and first_on.coil == 0
        assert 0 <= first_on.ts_ms - hot_from <= MIN  # the alarm sounded within a minute of event time
        assert devices.relay.is_on()
        assert [(s.phone, s.ts_ms) for s in devices.modem.sent] == [(PHONE, first_on.ts_ms)]
        assert "35.0" in devices.modem.sent[0].text  # one SMS (rate limit) despite the repeats

        broker.start()  # the link returns (420 min): the outbox drains, ingest stores and receipts
        _reconnected(agent, metrics)
        _drain(agent)
        with db.connect() as conn:
            worker = build_worker(conn, GenericHttpProvider(url=sms_gateway.url + "/sms"), SmsSettings())
            now = datetime.fromtimestamp((clock.now + MIN) / 1000, UTC)
            report = worker.cycle(now)
            assert not report.errors, report.errors
            assert report.gateway_events >= 2 and report.climate_hours > 0  # both saw the hot house
            alerts = conn.execute("SELECT type, state, event_start, evidence FROM alerts "
                                  "WHERE farm_id = 'f-alarm' AND house_id = 'h1'").fetchall()
            assert [a[0] for a in alerts] == ["heat_stress"]  # exactly one alert
            kind, state, start, evidence = alerts[0]
            assert state == "open" and start == datetime.fromtimestamp(hot_from / 1000, UTC)  # gateway's onset
            assert evidence["last"]["rule"] == "thi_emergency"  # the cloud's own rule joined the same alert
            told = conn.execute("SELECT action, reason FROM sms_budget WHERE entry_key LIKE 'gateway-sms:%'").fetchall()
            assert [t[0] for t in told] == ["sent"]
            assert worker.cycle(now + timedelta(minutes=5)).errors == []
            # One farmer SMS in total: the gateway's; the cloud texted nobody about the hot house.
            assert len(devices.modem.sent) + len(sms_gateway.requests) == 1

            # The fans run again (440 min), the house cools: below 34 °C the gateway's emergency
            # clears and the alarm switches off; the cloud records the clear, and keeps the one
            # alert open while its own rule still finds the house too hot for these birds.
            _run_minutes(agent, clock, 20)
            assert devices.relay.is_on()
            _run_minutes(agent, clock, 100)
            assert not devices.relay.is_on()
            assert [s.on for s in devices.relay.switchings] == [True, False]
            _drain(agent)
            worker.cycle(datetime.fromtimestamp((clock.now + MIN) / 1000, UTC))
            rows = conn.execute("SELECT evidence->'audit' FROM alerts "
                                "WHERE farm_id = 'f-alarm' AND house_id = 'h1'").fetchall()
            assert len(rows) == 1
            assert "cleared" in [entry[1] for entry in rows[0][0]]
            assert len(devices.modem.sent) + len(sms_gateway.requests) == 1
        agent.shutdown()


def test_farm_button_silences_the_alarm_and_the_cloud_learns_it(
        db: TestDatabase, mosquitto_factory: Any, sim: tuple[ManualClock, SimAlarmDevices],
        tmp_path: Path) -> None:
    clock, devices = sim
    broker = mosquitto_factory()
    _seed(db)
    agent = _agent(broker.port, tmp_path / "gw", clock, devices, lambda t: 37.0 + 0.1 * (t // MIN % 3))
    with running_ingest(db, broker.url, tmp_path / "frames") as (_, metrics, _sub):
        agent.start()
        wait_until(lambda: bool(agent.uplink and agent.uplink.connected), what="gateway connected")
        broker.stop()
        wait_until(lambda: not (agent.uplink and agent.uplink.connected), what="gateway sees the outage")
        _run_minutes(agent, clock, 2)
        assert devices.relay.is_on()
        devices.relay.press(0)  # the farmer presses the alarm's button
        _run_minutes(agent, clock, 1)
        assert not devices.relay.is_on()
        _run_minutes(agent, clock, 40)  # still hot, repeats: stays silenced
        assert [s.on for s in devices.relay.switchings] == [True, False]
        broker.start()
        _reconnected(agent, metrics)
        _drain(agent)
        with db.connect() as conn:
            worker = build_worker(conn, GenericHttpProvider(url="http://127.0.0.1:9/sms"), SmsSettings())
            assert worker.cycle(datetime.fromtimestamp((clock.now + MIN) / 1000, UTC)).errors == []
            row = conn.execute("SELECT type, state, evidence->>'acknowledged_by' FROM alerts "
                               "WHERE farm_id = 'f-alarm' AND type = 'heat_stress'").fetchall()
            assert row == [("heat_stress", "acknowledged", f"gateway:{GW}")]
        agent.shutdown()


def test_cloud_not_storing_sounds_after_the_grace_and_the_apps_acknowledgement_silences_it(
        mosquitto_factory: Any, sim: tuple[ManualClock, SimAlarmDevices], tmp_path: Path) -> None:
    """Connected, but no ingest stores anything (nobody can be told): the alarm sounds after the
    grace. The app's acknowledgement reaches the gateway through the broker, as the API sends it
    (retained AlarmAck); replayed on a reconnect it does not silence a later episode."""
    clock, devices = sim
    broker = mosquitto_factory(persistent=True)  # retained messages survive its restart
    temps = {"now": 37.0}
    agent = _agent(broker.port, tmp_path / "gw", clock, devices, lambda t: temps["now"] + 0.1 * (t // MIN % 3))
    agent.start()
    wait_until(lambda: bool(agent.uplink and agent.uplink.connected), what="gateway connected")
    agent.step()
    clock.now += 29_000
    agent.step()
    assert not devices.relay.is_on()  # within the 30 s grace the cloud might still store it
    _run_minutes(agent, clock, 1)
    assert devices.relay.is_on()
    acked_at = clock.now
    ack = AlarmAck(gateway_id=GW, ts=acked_at, house="h1", types=["temperature_emergency", "temperature_low"])
    MqttConfigPublisher(BrokerAddress.parse(broker.url)).publish(topic_for(GW, Kind.ALARM_ACK), encode(ack))
    wait_until(lambda: (agent.step(), not devices.relay.is_on())[1], what="alarm silenced by the app")
    temps["now"] = 24.0
    _run_minutes(agent, clock, 2)  # cleared
    broker.stop()
    broker.start()  # the retained acknowledgement comes again on the reconnect
    assert _retained(broker.port, topic_for(GW, Kind.ALARM_ACK)) == encode(ack)
    wait_until(lambda: bool(agent.uplink and agent.uplink.connected), what="gateway reconnected")
    temps["now"] = 37.0
    _run_minutes(agent, clock, 2)
    for _ in range(20):
        agent.step()
        time.sleep(0.05)
    assert devices.relay.is_on()  # a new episode, after the acknowledgement: it sounds
    assert [s.on for s in devices.relay.switchings] == [True, False, True]
    agent.shutdown()
