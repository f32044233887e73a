"""Pure parts of the agent: drivers' decoding, rules, sensor health, config, remote config, backoff."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import pytest

from edge.config import ConfigError, Register, merge, parse_config
from edge.drivers import DriverError
from edge.drivers.clock import ModbusClock
from edge.drivers.modbus import decode_register, register_span
from edge.drivers.scale import parse_lines
from edge.health import SensorHealth
from edge.remote import ConfigStore, evaluate
from edge.rules import LocalRules
from edge.sampling import Sampler
from edge.uplink import backoff_s
from protocol import DesiredConfig, encode
from protocol.messages import Metric, Reading

T = 1_780_000_000_000


def test_register_decoding_big_endian_words() -> None:
    assert decode_register([0xFFF6], Register(metric="temperature_c", address=1, type="int16", scale=0.1)) == -1.0
    assert decode_register([0x0001, 0x86A0], Register(metric="light_lux", address=6, type="uint32")) == 100_000
    assert decode_register([0x41C8, 0x0000], Register(metric="co2_ppm", address=0, type="float32")) == 25.0
    regs = [Register(metric="humidity_pct", address=0), Register(metric="light_lux", address=6, type="uint32")]
    assert register_span(regs) == (0, 8)


def test_scale_lines_parse_and_garbage_is_counted() -> None:
    ts, raw, bad, rest = parse_lines(b"1780000000000,84000\n1780000000100,-12\nnonsense\n17,5\n1780000000200,84")
    assert ts.tolist() == [T, T + 100] and raw.tolist() == [84000, -12]
    assert bad == 2 and rest == b"1780000000200,84"
    _, _, bad, rest = parse_lines(b"x" * 200)
    assert bad == 1 and rest == b""


class FakeModbus:
    """Answers unit 250 like the simulator's RTC: time advancing `rate` x the fake monotonic clock."""

    connected = True

    def __init__(self, start_ms: int, mono: list[float], rate: float = 60.0) -> None:
        self.start_ms, self.mono, self.rate, self.fail = start_ms, mono, rate, False

    def connect(self) -> bool:
        return True

    def close(self) -> None:
        pass

    def read_holding_registers(self, address: int, *, count: int, device_id: int) -> Any:
        if self.fail:
            raise OSError("timeout")
        now = self.start_ms + int(self.mono[0] * 1000 * self.rate)
        words = [(now >> s) & 0xFFFF for s in (48, 32, 16, 0)]

        class R:
            registers = words

            def isError(self) -> bool:  # noqa: N802 - pymodbus API
                return False

        return R()


def test_modbus_clock_follows_an_accelerated_rtc_through_dropouts() -> None:
    mono = [0.0]
    fake = FakeModbus(T, mono)
    clock = ModbusClock("h", 1, client=fake, mono=lambda: mono[0], refresh_s=2.0)
    assert clock.now_ms() == T
    mono[0] = 3.0
    assert clock.now_ms() == T + 180_000  # re-read; rate learnt as 60x
    fake.fail = True
    mono[0] = 4.0
    assert clock.now_ms() == T + 240_000  # extrapolated while the RTC does not answer
    with pytest.raises(DriverError):
        ModbusClock("h", 1, client=_Failing(), mono=lambda: 0.0).now_ms()


class _Failing(FakeModbus):
    def __init__(self) -> None:
        super().__init__(T, [0.0])
        self.fail = True


def test_rules_fire_with_event_time_repeat_and_clear_with_hysteresis() -> None:
    from edge.config import RuleSettings

    rules = LocalRules(RuleSettings(temperature_emergency_c=35.0, repeat_after_s=600))
    assert rules.observe(T, Metric.TEMPERATURE_C, 34.0, "h1") == []
    fired = rules.observe(T + 60_000, Metric.TEMPERATURE_C, 35.5, "h1")
    assert [(a.type, a.severity, a.ts_ms) for a in fired] == [("temperature_emergency", "critical", T + 60_000)]
    assert rules.observe(T + 120_000, Metric.TEMPERATURE_C, 36.0, "h1") == []  # no flood
    assert rules.observe(T + 200_000, Metric.TEMPERATURE_C, 34.5, "h1") == []  # inside hysteresis
    assert len(rules.observe(T + 700_000, Metric.TEMPERATURE_C, 35.2, "h1")) == 1  # still on: repeat
    cleared = rules.observe(T + 800_000, Metric.TEMPERATURE_C, 33.0, "h1")
    assert [a.type for a in cleared] == ["temperature_emergency_cleared"]
    assert [a.type for a in rules.observe(T, Metric.NH3_PPM, 30.0, None)] == ["nh3_critical"]


def test_sensor_faults_stuck_out_of_range_missing_and_water_deltas() -> None:
    from edge.config import ModbusSensor

    health = SensorHealth(stuck_after=5)
    got: list[Reading] = []
    sampler = Sampler(health, got.append)
    values = iter([21.0, 21.0, 21.0, 21.0, 21.0, 21.0, 900.0])
    water = iter([100.0, 103.5, 103.5, 104.0])

    class Th:
        def read(self) -> list[tuple[Metric, float]]:
            return [(Metric.TEMPERATURE_C, next(values))]

    class Water:
        def read(self) -> list[tuple[Metric, float]]:
            litres = next(water, None)
            if litres is None:  # the meter stops answering
                raise DriverError("Modbus unit 5: timeout")
            return [(Metric.WATER_L, litres)]

    sensors = [ModbusSensor(id="th", registers=[{"metric": "temperature_c", "address": 1}], interval_s=60),
               ModbusSensor(id="w", registers=[{"metric": "water_l", "address": 0, "cumulative": True}],
                            interval_s=60)]
    sampler.configure(sensors, {"th": Th(), "w": Water()}, T)
    for i in range(4):
        sampler.poll(T + i * 60_000)
    assert [r.value for r in got if r.sensor == "w"] == [3.5, 0.0, 0.5]  # litres per interval
    for i in range(4, 7):
        sampler.poll(T + i * 60_000)
    states = {s.sensor: s for s in health.states(T + 6 * 60_000)}
    assert "stuck" in states["th"].faults and "out_of_range" in states["th"].faults
    assert [r.quality for r in got if r.sensor == "th"][-1] == "suspect"
    assert sampler.dropped == 1  # 900 °C never left the gateway
    later = {s.sensor: s for s in health.states(T + 60 * 60_000)}
    assert later["w"].state == "missing"


def test_config_rejects_unknown_keys_and_merges_remote_overlay() -> None:
    base = {"gateway_id": "gw1", "rules": {"nh3_critical_ppm": 25}, "telemetry_batch_s": 60}
    with pytest.raises(ConfigError, match="Extra inputs"):
        parse_config({**base, "telemetry_batch": 30})
    with pytest.raises(ConfigError, match="serial_port"):
        parse_config({**base, "sensors": [{"id": "s", "transport": "rtu",
                                            "registers": [{"metric": "nh3_ppm", "address": 2}]}]})
    with pytest.raises(ConfigError, match="needs a flock"):
        parse_config({**base, "scale": {}})
    merged = parse_config(merge(base, {"rules": {"temperature_emergency_c": 33}}))
    assert merged.rules.nh3_critical_ppm == 25 and merged.rules.temperature_emergency_c == 33


def desired(version: int, config: dict[str, Any], gw: str = "gw1") -> bytes:
    return encode(DesiredConfig(gateway_id=gw, seq=version, version=version, issued_at=T, config=config))


def test_remote_config_decisions() -> None:
    base = {"gateway_id": "gw1"}
    assert evaluate(desired(2, {"telemetry_batch_s": 30}), base, "gw1", 1).status == "applied"
    assert evaluate(desired(1, {"telemetry_batch_s": 30}), base, "gw1", 1).status == "ignored"
    bad = evaluate(desired(3, {"telemetry_batch_s": "soon"}), base, "gw1", 1)
    assert bad.status == "rejected" and "telemetry_batch_s" in (bad.error or "")
    assert "gateway_id" in (evaluate(desired(3, {"gateway_id": "gw2"}), base, "gw1", 1).error or "")
    assert evaluate(desired(3, {}, gw="gw9"), base, "gw1", 1).status == "rejected"
    moved = evaluate(desired(3, {"outbox": {"path": "/tmp/x.db", "max_mb": 50}}), base, "gw1", 1)
    assert moved.status == "rejected" and "outbox.path" in (moved.error or "")
    assert evaluate(b"{not json", base, "gw1", 1).status == "rejected"


def test_config_store_is_atomic_and_survives_garbage(tmp_path: Path) -> None:
    store = ConfigStore(tmp_path / "remote-config.json")
    assert store.load() == (0, {})
    store.save(4, {"telemetry_batch_s": 30})
    assert store.load() == (4, {"telemetry_batch_s": 30})
    assert not list(tmp_path.glob("*.tmp"))
    (tmp_path / "remote-config.json").write_text("{trunc")
    assert store.load() == (0, {})
    assert json.loads(json.dumps(store.load()))


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    delays = [backoff_s(n, 1.0, 60.0, rng) for n in range(10)]
    assert all(0.5 <= d <= 1.0 for d in delays[:1])
    assert all(30.0 <= d <= 60.0 for d in delays[7:])
    assert len({round(backoff_s(3, 1.0, 60.0, rng), 6) for _ in range(20)}) > 10  # a fleet spreads out


def test_uplink_falls_back_to_mqtt_311_on_a_broker_without_v5() -> None:
    from edge.config import MqttSettings
    from edge.uplink import Ack, Connected, Uplink
    from fuhuiyang.services.mqtt import AmqttBroker

    broker = AmqttBroker()
    broker.start()
    uplink = Uplink(MqttSettings(port=broker.port, backoff_min_s=0.1, backoff_max_s=0.3), "gw-311")
    uplink.start()
    try:
        deadline = time.monotonic() + 20
        ev: Any = None
        while time.monotonic() < deadline and not isinstance(ev, Connected):
            ev = uplink.events.get(timeout=deadline - time.monotonic())
        assert isinstance(ev, Connected) and ev.protocol == "3.1.1"
        sent = uplink.publish("fhy/v1/gw-311/telemetry", b"{}")
        assert sent is not None
        ack = uplink.events.get(timeout=10)
        assert isinstance(ack, Ack) and ack.ok and (ack.generation, ack.mid) == sent
    finally:
        uplink.stop()
        broker.stop()


def test_severed_uplink_makes_the_broker_publish_the_will(mosquitto_factory) -> None:  # type: ignore[no-untyped-def]
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from edge.config import MqttSettings
    from edge.uplink import Connected, Uplink

    broker = mosquitto_factory()
    wills: list[bytes] = []
    watcher = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="will-watcher")
    watcher.on_message = lambda c, u, m: wills.append(bytes(m.payload))
    watcher.connect("127.0.0.1", broker.port)
    watcher.subscribe("fhy/v1/gw-cut/status", qos=1)
    watcher.loop_start()
    uplink = Uplink(MqttSettings(port=broker.port), "gw-cut")
    uplink.set_will("fhy/v1/gw-cut/status", b"offline")
    uplink.start()
    try:
        assert isinstance(uplink.events.get(timeout=20), Connected)
        uplink.sever()
        deadline = time.monotonic() + 10
        while not wills and time.monotonic() < deadline:
            time.sleep(0.05)
        assert wills == [b"offline"]
    finally:
        watcher.loop_stop()
        watcher.disconnect()


def test_repeated_spikes_flag_the_sensor_and_a_single_jump_does_not() -> None:
    from edge.health import SensorHealth
    from protocol.messages import Metric

    def run(values: list[float]) -> list[str]:
        health = SensorHealth()
        health.register("h1-th", Metric.HUMIDITY_PCT, 60, 0)
        for i, value in enumerate(values):
            health.observe("h1-th", Metric.HUMIDITY_PCT, i * 60_000, value, 0 <= value <= 100)
        return next(s.faults for s in health.states(len(values) * 60_000))

    calm = [75.0 + 0.5 * (i % 3) for i in range(20)]
    assert "spike" not in run(calm)
    assert "spike" not in run([*calm, 40.0, 75.0, 75.5])  # one jump: a door opened
    spiky = [*calm, 40.0, 75.0, 75.5, 99.0, 75.2, 75.1]
    assert "spike" in run(spiky)
    rising = [60.0 + 1.0 * i for i in range(30)]  # a wet night: steady change is weather, not spikes
    assert "spike" not in run(rising)
