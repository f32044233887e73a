"""Test doubles for the agent's device side, plus a broker-side collector.

The devices here stand in for hardware behind the driver interfaces (`read()`/`poll()`);
the outbox, uplink, MQTT broker and agent loop are the real ones.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.agent import Agent, CapturedFrame, Devices
from edge.config import parse_config
from edge.outbox import Outbox
from edge.remote import ConfigStore
from edge.uplink import Uplink
from protocol import Kind, Receipt, decode, encode, parse_topic, topic_for
from protocol.messages import Metric
from protocol.topics import DOWNLINK_KINDS
from tests.edge import synthetic


class ManualClock:
    def __init__(self, start_ms: int) -> None:
        self.now = start_ms

    def now_ms(self) -> int:
        return self.now


class ScriptedSensor:
    def __init__(self, clock: ManualClock, temp: Callable[[int], float] = lambda t: 24.0) -> None:
        self.clock = clock
        self.temp = temp

    def read(self) -> list[tuple[Metric, float]]:
        t = self.clock.now_ms()
        return [(Metric.TEMPERATURE_C, self.temp(t)), (Metric.NH3_PPM, 8.0 + (t // 60_000) % 5)]


class ReplayScale:
    """A raw load-cell stream whose samples become readable as the clock passes them."""

    def __init__(self, clock: ManualClock, visits: int, gap_s: float = 100.0) -> None:
        events = [("single", 12.0, (1500.0 + 7 * (i % 20),)) for i in range(visits)]
        ts, raw, _ = synthetic.build(events, gap_s=gap_s, seed=5)
        self.ts = ts - synthetic.T0 + clock.now_ms()
        self.raw = raw.astype(np.int64)
        self.clock = clock
        self.pos = 0

    def read(self) -> tuple[np.ndarray, np.ndarray]:
        end = int(np.searchsorted(self.ts, self.clock.now_ms(), side="right"))
        ts, raw = self.ts[self.pos : end], self.raw[self.pos : end]
        self.pos = end
        return ts, raw


class NoiseCamera:
    """A camera that yields one real JPEG of the given size class every `every_ms`."""

    camera_id = "cam1"

    def __init__(self, every_ms: int, side: int = 160) -> None:
        self.every_ms = every_ms
        self.next_ms = 0
        self.side = side
        self.rng = np.random.default_rng(0)
        self.produced = 0

    def poll(self, now_ms: int) -> list[CapturedFrame]:
        if now_ms < self.next_ms:
            return []
        self.next_ms = now_ms + self.every_ms
        img = self.rng.integers(0, 255, (self.side, self.side, 3), dtype=np.uint8)
        ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        assert ok
        self.produced += 1
        return [CapturedFrame(now_ms, self.camera_id, None, self.side, self.side, buf.tobytes(), "scheduled")]

    def state(self) -> str:
        return "ok"


class RecordingOutbox(Outbox):
    """The real outbox, remembering which (kind, seq) it stored (the test's ground truth)."""

    stored: list[tuple[str, int]]

    def put(self, kind: Kind, topic: str, build: Callable[[int], bytes], now_ms: int) -> int:
        seq = super().put(kind, topic, build, now_ms)
        if not hasattr(self, "stored"):
            self.stored = []
        self.stored.append((kind.value, seq))
        return seq


class Collector:
    """A cloud-side subscriber that keeps every message by (gateway_id, seq) and, as ingest does
    once it has stored one, sends the gateway a receipt for it (a duplicate is receipted again)."""

    def __init__(self, port: int, gateway_id: str, *, receipts: bool = True) -> None:
        self.receipts = receipts
        self.messages: dict[tuple[str, int], tuple[str, bytes]] = {}
        self.duplicates = 0
        self.conflicts = 0
        self.by_kind: dict[str, list[Any]] = {}
        self.lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"collector-{port}",
                                  protocol=mqtt.MQTTv5)
        self.client.on_message = self._on_message
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"fhy/v1/{gateway_id}/#", qos=1)
        self.port = port
        # A persistent session: the broker queues what arrives while this subscriber reconnects.
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        self.client.connect_async("127.0.0.1", port, clean_start=False, properties=props)
        self.client.reconnect_delay_set(1, 2)
        self.client.loop_start()

    def _on_message(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        topic = parse_topic(msg.topic)
        if topic.kind in DOWNLINK_KINDS:
            return
        message = decode(topic.kind, bytes(msg.payload))
        seq = message.meta.seq if topic.kind == Kind.FRAME else message.seq
        key = (topic.gateway_id, seq)
        with self.lock:
            if key in self.messages:
                self.duplicates += 1
                if self.messages[key][1] != msg.payload:
                    self.conflicts += 1
            else:
                self.messages[key] = (topic.kind.value, bytes(msg.payload))
                self.by_kind.setdefault(topic.kind.value, []).append(message)
        if self.receipts:
            receipt = Receipt(gateway_id=topic.gateway_id, ts=int(time.time() * 1000), upto=-1, ranges=[(seq, seq)])
            client.publish(topic_for(topic.gateway_id, Kind.RECEIPT), encode(receipt), qos=1)

    def keys(self, *kinds: str) -> set[tuple[str, int]]:
        with self.lock:
            return {k for k, (kind, _) in self.messages.items() if kind in kinds}

    def wait_for(self, predicate: Callable[[], bool], timeout: float, step: Callable[[], None] | None = None) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if step is not None:
                step()
            if predicate():
                return True
            time.sleep(0.02)
        return predicate()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def sensor_agent(gateway_id: str, port: int, data_dir: Path, clock: ManualClock, *,
                 receipt_timeout_s: float = 60, health_interval_s: float = 600) -> Agent:
    """An agent with one climate sensor (temperature and NH3 each minute) on a real broker."""
    doc: dict[str, Any] = {
        "gateway_id": gateway_id, "data_dir": str(data_dir),
        "mqtt": {"host": "127.0.0.1", "port": port, "backoff_min_s": 0.2, "backoff_max_s": 1.0, "inflight": 20},
        "outbox": {"drain_per_s": 400, "receipt_timeout_s": receipt_timeout_s},
        "sensors": [{"id": "th1", "unit": 1, "interval_s": 60, "registers": [
            {"metric": "temperature_c", "address": 1, "type": "int16", "scale": 0.1},
            {"metric": "nh3_ppm", "address": 2, "scale": 0.1}]}],
        "telemetry_batch_s": 60, "health_interval_s": health_interval_s,
    }
    config = parse_config(doc)
    config.data_dir.mkdir(parents=True, exist_ok=True)
    outbox = RecordingOutbox(config.resolve(config.outbox.path))
    return Agent(config, doc, clock, outbox, Devices({"th1": ScriptedSensor(clock)}),
                 ConfigStore(config.resolve(Path("remote-config.json"))), software="test",
                 uplink_factory=lambda c: Uplink(c.mqtt, c.gateway_id))
