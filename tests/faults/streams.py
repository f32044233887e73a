"""A telemetry stream from simulated gateways and a tally of what reached the database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

import protocol
from cloud.db.connection import connect

T0 = 1_780_000_000_000
POINTS = 5
PROBE = "gw-probe"


class Gateways:
    """A few gateways sharing one paho session each way a farm gateway would: QoS 1, queued while down."""

    @staticmethod
    def ids_for(count: int) -> list[str]:
        return [f"gw-fault-{i}" for i in range(count)]

    def __init__(self, port: int, count: int = 5) -> None:
        self.ids = self.ids_for(count)
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"fault-pub-{uuid.uuid4().hex[:6]}",
                                  protocol=mqtt.MQTTv5)
        self.client.max_inflight_messages_set(50)
        self.client.reconnect_delay_set(0.2, 2)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.seq = 0
        self.published: set[tuple[str, int]] = set()

    def send(self, messages: int, *, per_second: float = 400.0) -> None:
        for _ in range(messages):
            self.seq += 1
            gateway = self.ids[self.seq % len(self.ids)]
            ts = T0 + self.seq * 1000
            points = [protocol.Reading(ts=ts, sensor=f"s{i}", metric="temperature_c", value=20 + i, house="h1")
                      for i in range(POINTS)]
            body = protocol.Telemetry(gateway_id=gateway, seq=self.seq, sent_at=ts, points=points)
            self.client.publish(protocol.topic_for(gateway, "telemetry"), protocol.encode(body), qos=1)
            self.published.add((gateway, self.seq))
            time.sleep(1 / per_second)

    def probe_until_ingesting(self, db_url: str, timeout: float = 90) -> None:
        """Messages sent before ingest subscribes go nowhere: probe until one lands."""
        probe = 0

        def landed() -> bool:
            nonlocal probe
            probe += 1
            ts = T0 + probe
            point = protocol.Reading(ts=ts, sensor="probe", metric="temperature_c", value=20.0)
            body = protocol.Telemetry(gateway_id=PROBE, seq=probe, sent_at=ts, points=[point])
            self.client.publish(protocol.topic_for(PROBE, "telemetry"), protocol.encode(body), qos=1)
            return _probe_landed(db_url)

        if not wait_until(landed, timeout, step=0.5):
            raise AssertionError("ingest never started consuming")

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def start_ingest(db_url: str, broker_url: str, *, workers: int = 1, shared: bool = True,
                 tmp: str = "/tmp", group: str | None = None) -> subprocess.Popen[bytes]:
    env = os.environ | {"FUHUIYANG_DATABASE_URL": db_url, "FUHUIYANG_DATABASE_SCHEMA": "public",
                        "FUHUIYANG_MQTT_URL": broker_url, "FUHUIYANG_FRAMES_DIR": f"{tmp}/frames"}
    return subprocess.Popen(
        [sys.executable, "-m", "fuhuiyang", *(["-vv"] if os.environ.get("FHY_DEBUG") else []), "cloud", "ingest", "--workers", str(workers),
         "--client-id", "ingest-fault", *(["--group", group or f"fault-{uuid.uuid4().hex[:6]}"] if shared else ["--mqtt-v311"]), "--batch-wait", "0.05"],
        env=env,
    )


def stored(db_url: str) -> tuple[set[tuple[str, int]], int]:
    """Distinct message identities in readings, and the number of rows."""
    try:
        with connect(db_url, "public") as conn:
            rows = conn.execute(
                "SELECT gateway_id, seq, count(*) FROM readings WHERE gateway_id <> %s GROUP BY 1, 2", (PROBE,)
            ).fetchall()
    except Exception:  # the database may be down at this moment
        return set(), 0
    return {(r[0], r[1]) for r in rows}, sum(r[2] for r in rows)


def _probe_landed(db_url: str) -> bool:
    try:
        with connect(db_url, "public") as conn:
            return conn.execute("SELECT 1 FROM readings WHERE gateway_id = %s LIMIT 1", (PROBE,)).fetchone() is not None
    except Exception:
        return False


def wait_until(condition: Callable[[], bool], timeout: float, step: float = 0.25) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()
