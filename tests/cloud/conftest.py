"""Helpers for cloud tests: wire messages, a publisher, an in-process ingest worker."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.service import IngestService
from cloud.ingest.worker import IngestOptions
from cloud.settings import CloudSettings
from fuhuiyang.processes.ingest import build
from fuhuiyang.services.net import free_port
from messaging.subscriber import MqttSubscriber
from protocol import Kind, Reading, Telemetry, encode, topic_for
from tests.support.databases import TestDatabase
from tests.support.farms import register

BASE_MS = 1_764_316_800_000  # 2025-11-28 08:00 UTC

# The gateways these tests publish as, provisioned to farm f1 with houses h1 and h2 (ingest
# quarantines what an unknown gateway sends, and any house outside the sender's farm).
TEST_GATEWAYS = ("gw-a", "gw-b", "gw-c", "gw-ts", "gw-v3", "gw-r", "gw-bp", *(f"gw-{i}" for i in range(10)))


def provision(db: TestDatabase) -> None:
    with db.connect() as conn:
        register(conn, "f1", TEST_GATEWAYS, houses=("h1", "h2"))


def telemetry(gateway_id: str, seq: int, points: int = 10, house: str = "h1") -> Telemetry:
    return Telemetry(
        gateway_id=gateway_id, seq=seq, sent_at=BASE_MS + seq * 60_000,
        points=[
            Reading(ts=BASE_MS + seq * 60_000 + i, sensor=f"s{i % 4}", metric="temperature_c",
                    value=20.0 + (i % 7) * 0.5, house=house)
            for i in range(points)
        ],
    )


class Publisher:
    def __init__(self, url_host: str, port: int, client_id: str | None = None,
                 username: str | None = None, password: str | None = None) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or f"pub-{uuid.uuid4().hex[:8]}",
                                  protocol=mqtt.MQTTv5)
        if username:
            self.client.username_pw_set(username, password)
        self.client.connect(url_host, port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> mqtt.MQTTMessageInfo:
        return self.client.publish(topic, payload, qos=qos)

    def send(self, message: Telemetry, kind: Kind = Kind.TELEMETRY) -> mqtt.MQTTMessageInfo:
        return self.publish(topic_for(message.gateway_id, kind), encode(message))

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class CloudWorker:
    """A `fuhuiyang cloud COMMAND` process (ingest, detect) with its Prometheus endpoint."""

    def __init__(self, db: TestDatabase, broker_url: str, frames: Path, command: str, client_id: str,
                 *args: str) -> None:
        self.client_id = client_id
        self.port = free_port()
        env = {**os.environ, **db.env(), "FUHUIYANG_MQTT_URL": broker_url, "FUHUIYANG_FRAMES_DIR": str(frames)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fuhuiyang", "cloud", command, "--client-id", client_id,
             "--metrics-port", str(self.port), *args],
            env=env,
        )

    def metric(self, name: str) -> float:
        """Sum of a metric's samples; -1 while the endpoint does not answer."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5) as response:
                text = response.read().decode()
        except OSError:
            return -1.0
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and not line.startswith("#"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)


def wait_until(predicate: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def count(db: TestDatabase, sql: str, *params: object) -> int:
    with db.connect() as conn:
        row = conn.execute(sql, params).fetchone()
        return int(row[0]) if row else 0


@pytest.fixture
def broker(mosquitto_factory):
    return mosquitto_factory()


@contextmanager
def running_ingest(db: TestDatabase, broker_url: str, frames_dir: Path, *, client_id: str | None = None,
                   group: str = "ingest", **option_overrides: object) -> Iterator[tuple[IngestService, IngestMetrics, MqttSubscriber]]:
    provision(db)
    settings = CloudSettings(database_url=db.url, database_schema=db.schema, mqtt_url=broker_url,
                             frames_dir=frames_dir)
    options = IngestOptions(client_id=client_id or f"ingest-{uuid.uuid4().hex[:8]}", group=group,
                            **option_overrides)  # type: ignore[arg-type]
    metrics = IngestMetrics()
    subscriber, service = build(settings, options, metrics)
    try:
        with serving(subscriber, service, "ingest"):
            yield service, metrics, subscriber
    finally:
        service.close()


class ServiceLoop(Protocol):
    def run(self, stop: threading.Event) -> None: ...


@contextmanager
def serving(subscriber: MqttSubscriber, service: ServiceLoop, what: str) -> Iterator[None]:
    """A worker in this process: its subscription granted, its loop in a thread until the block ends."""
    stop = threading.Event()
    subscriber.start()
    assert subscriber.wait_subscribed(30), f"{what} did not subscribe"
    thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)
        subscriber.stop()


@pytest.fixture
def cloud_workers(db, broker, tmp_path):  # type: ignore[no-untyped-def]
    """Starts `fuhuiyang cloud COMMAND` processes, each ready once the broker granted its subscription."""
    started: list[CloudWorker] = []
    provision(db)

    def start(command: str, client_id: str, *args: str, timeout: float = 60.0) -> CloudWorker:
        worker = CloudWorker(db, broker.url, tmp_path, command, client_id, *args)
        started.append(worker)
        wait_until(lambda: worker.metric(f"fhy_{command}_subscribed") == 1, timeout=timeout,
                   what=f"{client_id} subscribed")
        return worker

    yield start
    for worker in started:
        worker.stop()
