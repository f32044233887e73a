"""The real edge agent on a real broker takes a signed release from its retained release/desired,
downloads it over HTTP with its login, installs it beside, exits 75 to restart into it, reports
healthy once connected, heartbeating and reading its sensor; a restart whose sensor never reads
goes back to the previous version by itself."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion

from cloud.releases.signing import public_pem
from edge.agent import Agent, Devices
from edge.agent_update import RESTART_EXIT_CODE, AgentUpdate
from edge.config import parse_config
from edge.outbox import Outbox
from edge.release_dirs import ReleaseDirs, boot_check
from edge.remote import ConfigStore
from edge.uplink import Uplink
from fuhuiyang.services.mqtt import BrokerEndpoint
from protocol import Kind, ReleaseDesired, decode, encode, topic_for
from tests.edge.harness import ManualClock, ScriptedSensor
from tests.ota.bundles import signed

PASSWORD = "gw-secret-123"


@pytest.fixture
def bundle_server() -> Iterator[tuple[str, dict[str, bytes]]]:
    bundles: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            login = f"{bundles.get('@gw', b'').decode()}:{PASSWORD}".encode()
            if self.headers.get("Authorization") != "Basic " + base64.b64encode(login).decode():
                self.send_response(401)
                self.end_headers()
                return
            data = bundles.get(self.path)
            self.send_response(200 if data else 404)
            self.end_headers()
            if data:
                self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", bundles
    server.shutdown()


class FailingSensor:
    def read(self) -> list[Any]:
        raise OSError("Modbus register map of this release is wrong")


def _agent(gw: str, port: int, data_dir: Path, api_url: str, key_file: Path, clock: ManualClock,
           sensor: Any) -> Agent:
    doc: dict[str, Any] = {
        "gateway_id": gw, "data_dir": str(data_dir),
        "mqtt": {"host": "127.0.0.1", "port": port, "username": gw, "backoff_min_s": 0.2, "backoff_max_s": 1.0},
        "update": {"api_url": api_url, "public_key_file": str(key_file), "health_deadline_s": 60},
        "sensors": [{"id": "th1", "unit": 1, "interval_s": 10, "registers": [
            {"metric": "temperature_c", "address": 1, "type": "int16", "scale": 0.1},
            {"metric": "nh3_ppm", "address": 2, "scale": 0.1}]}],
        "telemetry_batch_s": 10, "health_interval_s": 30,
    }
    config = parse_config(doc)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    boot_check(ReleaseDirs(config.resolve(Path("agent"))), clock.now)  # the service's pre-start check
    return Agent(config, doc, clock, Outbox(config.resolve(config.outbox.path)), Devices({"th1": sensor}),
                 ConfigStore(config.resolve(Path("remote-config.json"))), software="test",
                 uplink_factory=lambda c: Uplink(c.mqtt, c.gateway_id), update=AgentUpdate(config, PASSWORD))


def _run(agent: Agent, clock: ManualClock, until: Any, timeout: float = 30.0, step_ms: int = 500) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        clock.now += step_ms
        agent.step()
        if until():
            return
        time.sleep(0.01)
    raise AssertionError("the agent did not get there in time")


def test_agent_updates_restarts_and_rolls_back(mqtt_broker: BrokerEndpoint, bundle_server: Any,
                                               tmp_path: Path) -> None:
    api_url, bundles = bundle_server
    gw = f"gw-ota-{uuid.uuid4().hex[:8]}"
    bundles["@gw"] = gw.encode()
    key = Ed25519PrivateKey.generate()
    key_file = tmp_path / "release.pub"
    key_file.write_bytes(public_pem(key.public_key()))
    states: list[tuple[str, str]] = []
    seen: set[int] = set()  # no receipts here: the outbox sends again, at least once

    def on_message(client: Any, userdata: Any, m: Any) -> None:
        report = decode(Kind.RELEASE_STATE, m.payload)
        if report.seq not in seen:
            seen.add(report.seq)
            states.append((report.state, report.version))

    cloud = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"cloud-{gw}")
    cloud.on_message = on_message
    cloud.connect(mqtt_broker.host, mqtt_broker.port)
    cloud.subscribe(topic_for(gw, Kind.RELEASE_STATE), qos=1)
    cloud.loop_start()

    def desire(version: str, rollout: int) -> None:
        bundle, release = signed(version, key)
        bundles[f"/api/v1/gateway/releases/{rollout}/bundle"] = bundle
        message = ReleaseDesired(gateway_id=gw, seq=0, rollout_id=rollout, issued_at=int(time.time() * 1000),
                                 release=release.manifest, signature=release.signature,
                                 url=f"/api/v1/gateway/releases/{rollout}/bundle")
        cloud.publish(topic_for(gw, Kind.RELEASE_DESIRED), encode(message), qos=1, retain=True).wait_for_publish(5)

    clock = ManualClock(int(time.time() * 1000))
    data_dir = tmp_path / "gw"
    dirs = ReleaseDirs(data_dir / "agent")
    try:
        desire("2.0.0", 1)
        agent = _agent(gw, mqtt_broker.port, data_dir, api_url, key_file, clock, ScriptedSensor(clock))
        agent.start()
        _run(agent, clock, lambda: agent.exit_code == RESTART_EXIT_CODE)
        agent.shutdown()
        assert dirs.running() == "2.0.0" and dirs.trial() is not None

        agent = _agent(gw, mqtt_broker.port, data_dir, api_url, key_file, clock, ScriptedSensor(clock))
        agent.start()
        _run(agent, clock, lambda: ("healthy", "2.0.0") in states)
        assert agent.exit_code == 0 and dirs.trial() is None
        agent.shutdown()

        # 3.0.0 starts, connects, heartbeats, but its sensor never reads: back to 2.0.0 by itself.
        desire("3.0.0", 2)
        agent = _agent(gw, mqtt_broker.port, data_dir, api_url, key_file, clock, ScriptedSensor(clock))
        agent.start()
        _run(agent, clock, lambda: agent.exit_code == RESTART_EXIT_CODE)
        agent.shutdown()
        assert dirs.running() == "3.0.0"
        agent = _agent(gw, mqtt_broker.port, data_dir, api_url, key_file, clock, FailingSensor())
        agent.start()
        _run(agent, clock, lambda: agent.exit_code == RESTART_EXIT_CODE, step_ms=5000)
        agent.shutdown()
        assert dirs.running() == "2.0.0"
        agent = _agent(gw, mqtt_broker.port, data_dir, api_url, key_file, clock, ScriptedSensor(clock))
        agent.start()
        _run(agent, clock, lambda: ("rolled_back", "3.0.0") in states)
        assert agent.exit_code == 0 and dirs.running() == "2.0.0"  # the retained 3.0.0 is not retried
        agent.shutdown()
        order = [s for s, v in states if v == "2.0.0"]
        assert order[:4] == ["downloading", "verified", "installing", "running_new"] and "healthy" in order
    finally:
        cloud.publish(topic_for(gw, Kind.RELEASE_DESIRED), b"", qos=1, retain=True).wait_for_publish(5)
        cloud.loop_stop()
        cloud.disconnect()
