"""The agent against a real Mosquitto the test owns: outage, SIGKILL mid-drain, disk cap."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from edge.agent import Agent, Devices
from edge.config import GatewayConfig, parse_config
from edge.remote import ConfigStore
from edge.uplink import Uplink
from protocol import DesiredConfig, Kind, encode, topic_for
from tests.edge.harness import (
    Collector,
    ManualClock,
    NoiseCamera,
    RecordingOutbox,
    ReplayScale,
    ScriptedSensor,
)

GW = "gw-e2e"
HOUR = 3_600_000


def gateway_doc(port: int, data_dir: Path, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "gateway_id": GW,
        "data_dir": str(data_dir),
        "mqtt": {"host": "127.0.0.1", "port": port, "backoff_min_s": 0.2, "backoff_max_s": 1.0,
                 "connect_timeout_s": 2.0, "inflight": 10},
        "outbox": {"max_mb": 0.6, "drain_per_s": 400},
        "sensors": [{"id": "th1", "unit": 1, "interval_s": 60, "registers": [
            {"metric": "temperature_c", "address": 1, "type": "int16", "scale": 0.1},
            {"metric": "nh3_ppm", "address": 2, "scale": 0.1}]}],
        "scale": {"id": "scale1", "zero_offset": 84000, "counts_per_gram": 21.5},
        # 25 days old today: the standard (~1.35 kg) puts the 1.5 kg test birds inside the window.
        "flock": {"breed": "ross308", "placed_on": str(date.today() - timedelta(days=25))},
        "telemetry_batch_s": 60,
        "health_interval_s": 900,
    }
    doc.update(extra)
    return doc


def make_agent(doc: dict[str, Any], clock: ManualClock, *, frames_every_ms: int = 5 * 60_000,
               temp: Callable[[int], float] = lambda t: 24.0) -> tuple[Agent, RecordingOutbox, NoiseCamera]:
    config = parse_config(doc)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    outbox = RecordingOutbox(config.resolve(config.outbox.path))
    camera = NoiseCamera(frames_every_ms)
    devices = Devices({"th1": ScriptedSensor(clock, temp)}, ReplayScale(clock, visits=400), [camera])
    agent = Agent(config, doc, clock, outbox, devices, ConfigStore(config.resolve(Path("remote-config.json"))),
                  software="test", uplink_factory=lambda c: Uplink(c.mqtt, c.gateway_id))
    return agent, outbox, camera


def advance(agent: Agent, clock: ManualClock, ms: int, step_ms: int = 30_000, real_pause: float = 0.0) -> None:
    end = clock.now + ms
    while clock.now < end:
        clock.now = min(end, clock.now + step_ms)
        agent.step()
        if real_pause:
            time.sleep(real_pause)


def drain(agent: Agent, clock: ManualClock, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while agent.outbox.depth > 0 and time.monotonic() < deadline:
        clock.now += 100
        agent.step()
        time.sleep(0.005)
    assert agent.outbox.depth == 0, f"outbox still holds {agent.outbox.depth} after {timeout}s"


@pytest.fixture
def broker(mosquitto_factory: Callable[..., Any]) -> Iterator[Any]:
    # Persistence keeps the collector's session (and its queued messages) across restarts.
    # mosquitto started as root drops to its own user, so the store must be writable by it.
    store = Path(tempfile.mkdtemp(prefix="fhy-broker-"))
    store.chmod(0o777)
    yield mosquitto_factory(f"persistence true\npersistence_location {store}/\n")
    shutil.rmtree(store, ignore_errors=True)


@pytest.mark.slow
def test_outage_sigkill_and_disk_cap_lose_only_counted_frames(broker: Any, tmp_path: Path) -> None:
    collector = Collector(broker.port, GW)
    start = int(time.time() * 1000) - 6 * HOUR  # the simulated timeline ends near real now
    clock = ManualClock(start)
    doc = gateway_doc(broker.port, tmp_path / "gw")
    agent, outbox, camera = make_agent(doc, clock)
    agent.start()
    try:
        assert collector.wait_for(lambda: agent.uplink is not None and agent.uplink.connected, 15, agent.step)
        advance(agent, clock, 10 * 60_000, real_pause=0.01)  # 10 live minutes
        drain(agent, clock)

        broker.stop()  # a 4G outage of three simulated hours
        advance(agent, clock, 3 * HOUR)
        backlog = outbox.depth_by_class()
        assert backlog["telemetry"] >= 170 and backlog["weighing"] >= 60
        assert outbox.drops() == {"frame": outbox.drops()["frame"]}  # the disk cap dropped frames only
        assert outbox.bytes <= 0.6 * 2**20

        broker.start()
        drain(agent, clock, timeout=90)

        broker.stop()  # a second outage, then the agent dies while draining it
        advance(agent, clock, 2 * HOUR)
    finally:
        agent.shutdown()
        outbox.close()
    expected = {(GW, seq) for kind, seq in outbox.stored if kind in ("telemetry", "weighing")}
    pending = RecordingOutbox(outbox.path).depth
    assert pending > 150

    broker.start()
    # Rows sent but not receipted when the agent is killed are resent after receipt_timeout_s.
    slow = dict(doc, sensors=[], scale=None, flock=None,
                outbox={"max_mb": 0.6, "drain_per_s": 10, "receipt_timeout_s": 5})
    cfg_path = tmp_path / "gateway.yaml"
    cfg_path.write_text(yaml.safe_dump(slow))
    cmd = [sys.executable, "-c", "from fuhuiyang.cli import main; main()", "edge", "run", "--config", str(cfg_path), "--tick", "0.05"]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    before = len(collector.keys("telemetry", "weighing"))
    proc = subprocess.Popen(cmd, env=env)
    try:
        assert collector.wait_for(lambda: len(collector.keys("telemetry", "weighing")) >= before + 25, 60)
        os.kill(proc.pid, signal.SIGKILL)  # mid-drain: rows were sent but some never acked/deleted
        proc.wait(10)
        assert RecordingOutbox(outbox.path).depth > 0
        proc = subprocess.Popen(cmd, env=env)
        ok = collector.wait_for(lambda: collector.keys("telemetry", "weighing") >= expected, 90)
        missing = expected - collector.keys("telemetry", "weighing")
        assert ok, f"{len(missing)} never arrived, e.g. {sorted(missing)[:5]}"
        left = lambda: RecordingOutbox(outbox.path).depth_by_class()  # noqa: E731
        assert collector.wait_for(lambda: not {"telemetry", "weighing", "frame"} & set(left()), 60), left()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)
        collector.close()

    got = collector.keys("telemetry", "weighing")
    assert got == expected  # every one delivered, nothing unknown
    assert collector.conflicts == 0  # a resent seq always carries the identical payload
    final = RecordingOutbox(outbox.path)
    drops = final.drops()
    assert set(drops) == {"frame"} and drops["frame"] > 0
    assert len(collector.keys("frame")) + drops["frame"] == camera.produced  # each sent or counted
    weights = [w for m in collector.by_kind["weighing"] for w in m.weights]
    assert weights and all(1400 < w.g < 1700 for w in weights)
    statuses = [(m.state, m.reason) for m in collector.by_kind["status"]]
    assert ("offline", "connection lost") in statuses  # the broker sent the will after SIGKILL
    assert ("online", None) in statuses and statuses[-1] == ("offline", "shutdown")
    assert len({m.seq for m in collector.by_kind["status"]}) == len(statuses)  # each with its own seq


def publish_desired(port: int, version: int, config: dict[str, Any]) -> None:
    import paho.mqtt.publish as publish

    msg = DesiredConfig(gateway_id=GW, seq=version, version=version, issued_at=int(time.time() * 1000),
                        config=config)
    publish.single(topic_for(GW, Kind.CONFIG_DESIRED), encode(msg), qos=1, retain=True,
                   hostname="127.0.0.1", port=port)


def test_remote_config_rejected_with_reason_then_applied_live(broker: Any, tmp_path: Path) -> None:
    collector = Collector(broker.port, GW)
    clock = ManualClock(int(time.time() * 1000))
    doc = gateway_doc(broker.port, tmp_path / "gw")
    agent, outbox, _ = make_agent(doc, clock, frames_every_ms=10**9, temp=lambda t: 34.0)
    agent.start()
    try:
        assert collector.wait_for(lambda: agent.uplink is not None and agent.uplink.connected, 15, agent.step)

        def reports() -> list[Any]:
            return sorted(collector.by_kind.get("config/applied", []), key=lambda m: m.seq)

        publish_desired(broker.port, 2, {"telemetry_batch_s": -5, "rules": {"nh3_critical_ppm": "lots"}})
        assert collector.wait_for(lambda: len(reports()) == 1, 15, lambda: advance(agent, clock, 1000, 1000))
        rejected = reports()[0]
        assert (rejected.version, rejected.status) == (2, "rejected")
        assert "telemetry_batch_s" in rejected.error and "nh3_critical_ppm" in rejected.error
        assert agent.config.telemetry_batch_s == 60

        uplink_before = agent.uplink
        publish_desired(broker.port, 3, {"telemetry_batch_s": 30, "rules": {"temperature_emergency_c": 33.0}})
        assert collector.wait_for(lambda: len(reports()) == 2, 15, lambda: advance(agent, clock, 1000, 1000))
        assert (reports()[1].version, reports()[1].status) == (3, "applied")
        assert agent.config.telemetry_batch_s == 30 and agent.uplink is uplink_before  # no restart
        assert json.loads((tmp_path / "gw" / "remote-config.json").read_text())["version"] == 3
        # The new threshold is live: 34 °C is now an emergency, judged on the gateway.
        assert collector.wait_for(lambda: any(a.type == "temperature_emergency" for a in
                                              collector.by_kind.get("alert", [])), 15,
                                  lambda: advance(agent, clock, 60_000, 60_000))

        dead_port = broker.port + 1 if broker.port < 65000 else broker.port - 1
        publish_desired(broker.port, 4, {"mqtt": {"port": dead_port, "connect_timeout_s": 0.5,
                                                  "backoff_min_s": 0.2, "backoff_max_s": 0.5}})
        assert collector.wait_for(lambda: {(4, "applied"), (4, "rolled_back")} <= {(r.version, r.status) for r in reports()},
                                  30, lambda: advance(agent, clock, 1000, 1000))
        assert agent.config.mqtt.port == broker.port
        assert [(r.version, r.status) for r in reports()][-2:] == [(4, "applied"), (4, "rolled_back")]
    finally:
        agent.shutdown()
        outbox.close()
        collector.close()


def test_validate_config_names_the_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from fuhuiyang.commands.edge import edge

    bad = tmp_path / "gateway.yaml"
    bad.write_text("gateway_id: gw1\nmqtt:\n  host: broker\n  prot: 1883\nsensors:\n  - id: th1\n"
                   "    registers:\n      - {metric: temperature_c, address: 1, type: int8}\n")
    result = CliRunner().invoke(edge, ["validate-config", str(bad)])
    assert result.exit_code == 1
    assert "line 4: mqtt.prot: Extra inputs are not permitted" in result.output
    assert "line 8: sensors.0.registers.0.type" in result.output
    good = tmp_path / "ok.yaml"
    good.write_text(yaml.safe_dump(gateway_doc(1883, tmp_path)))
    result = CliRunner().invoke(edge, ["validate-config", str(good)])
    assert result.exit_code == 0, result.output
    assert isinstance(parse_config(yaml.safe_load(good.read_text())), GatewayConfig)
