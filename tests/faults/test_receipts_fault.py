"""End-to-end receipts under every fault at once (issue 23, item 1).

A real gateway agent sends through a broker without persistence to a real ingest process,
while a hostile client sits in ingest's shared-subscription group and swallows its share.
Then the database stops, ingest is killed holding messages the broker already PUBACKed to the
gateway (they never reach a commit), and the broker restarts, losing whatever it had queued.
The gateway's outbox still holds every message the database lacks; after recovery the database
holds each (gateway, seq) exactly once.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from cloud.db.connection import connect
from tests.edge.harness import ManualClock, sensor_agent
from tests.faults.streams import start_ingest, wait_until

GW = "gw-edge"


class HostileMember:
    """A plain client in ingest's share group: the broker hands it a share, which it drops."""

    def __init__(self, port: int, group: str) -> None:
        self.swallowed = 0
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"hostile-{uuid.uuid4().hex[:6]}",
                                  protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"$share/{group}/fhy/#", qos=1)
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect_async("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        if "/receipt" not in msg.topic:
            with self._lock:
                self.swallowed += 1

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _stored(db_url: str, table: str) -> list[tuple[int, int]]:
    """(seq, rows) per message of the gateway in one event table; empty while the database is down."""
    try:
        with connect(db_url, "public") as conn:
            return [(int(s), int(n)) for s, n in conn.execute(
                f"SELECT seq, count(*) FROM {table} WHERE gateway_id = %s GROUP BY seq ORDER BY seq",  # noqa: S608
                (GW,)).fetchall()]
    except Exception:
        return []


def test_kill_restart_and_a_hostile_member_lose_nothing(private_pg, mosquitto_factory, report_counts,  # type: ignore[no-untyped-def]
                                                        tmp_path) -> None:
    broker = mosquitto_factory()  # no persistence: a restart forgets every queued message
    group = f"ingest-{uuid.uuid4().hex[:6]}"
    hostile = HostileMember(broker.port, group)
    ingest = start_ingest(private_pg.url, broker.url, group=group, tmp=str(tmp_path))
    # Far enough back that a slow run's many ticks stay in the past: ingest quarantines event
    # times more than 600 s ahead of receipt, and the clamp in tick() keeps it so regardless.
    clock = ManualClock(int(time.time() * 1000) - 48 * 3_600_000)
    agent = sensor_agent(GW, broker.port, tmp_path / "gw", clock, receipt_timeout_s=30, health_interval_s=300)
    outbox: Any = agent.outbox
    agent.start()

    def tick(ms: int, pause: float = 0.02) -> None:
        clock.now = min(clock.now + ms, int(time.time() * 1000))
        agent.step()
        time.sleep(pause)

    def produced(kind: str) -> set[int]:
        return {seq for k, seq in outbox.stored if k == kind}

    def held() -> set[int]:
        return {row.seq for row in outbox.peek(100_000)}

    try:
        assert wait_until(lambda: agent.uplink is not None and agent.uplink.connected, 15, 0.05)
        assert wait_until(lambda: hostile.client.is_connected(), 15, 0.05)

        def ingest_storing() -> bool:  # messages sent before ingest subscribed come again (no receipt)
            tick(60_000, 0.2)
            return bool(_stored(private_pg.url, "readings"))

        assert wait_until(ingest_storing, 60, 0.0), "ingest never stored a message"
        for _ in range(20):  # twenty live minutes, half of each resend round going to the hostile member
            tick(60_000)

        private_pg.stop()
        for _ in range(10):  # ingest receives these but cannot commit them
            tick(60_000)
        time.sleep(1.0)
        os.kill(ingest.pid, signal.SIGKILL)  # after the broker's PUBACK, before any commit
        ingest.wait(10)
        broker.stop()
        broker.start()  # whatever it queued for the group is gone
        private_pg.start()

        in_db = {s for s, _ in _stored(private_pg.url, "readings")}
        missing = produced("telemetry") - in_db
        assert missing, "the faults should have kept some messages from the database"
        assert missing <= held(), f"lost without a trace: {sorted(missing - held())[:10]}"
        assert hostile.swallowed > 0

        ingest = start_ingest(private_pg.url, broker.url, group=group, tmp=str(tmp_path))
        sent = {kind: produced(kind) for kind in ("telemetry", "health")}  # all queued before recovery
        # Every kind counts: the watermark moves only over contiguous seqs, so one message of
        # another kind still held keeps it below the telemetry sent after it.
        sent_any = {seq for _, seq in outbox.stored}

        def settled() -> bool:  # the agent keeps producing meanwhile, as a live gateway does
            tick(10_000, 0.01)
            return (not sent_any & held()
                    and sent["telemetry"] <= {s for s, _ in _stored(private_pg.url, "readings")}
                    and sent["health"] <= {s for s, _ in _stored(private_pg.url, "health")})

        assert wait_until(settled, 150, 0.0), (
            f"missing {sorted(sent['telemetry'] - {s for s, _ in _stored(private_pg.url, 'readings')})[:10]},"
            f" outbox {outbox.depth_by_class()}")
    finally:
        agent.shutdown()
        outbox.close()
        hostile.close()
        ingest.terminate()
        ingest.wait(20)

    readings = _stored(private_pg.url, "readings")
    health = _stored(private_pg.url, "health")
    report_counts(queued_before_recovery=len(sent["telemetry"]), stored=len(readings), swallowed=hostile.swallowed)
    assert sent["telemetry"] <= {s for s, _ in readings} <= produced("telemetry")
    assert all(rows == 2 for _, rows in readings)  # each message once: temperature and NH3, no copy
    with connect(private_pg.url, "public") as conn:
        quarantined = conn.execute("SELECT reason, seq, detail FROM quarantine").fetchall()
    assert sent["health"] <= {s for s, _ in health} <= produced("health"), quarantined
    assert all(rows == 1 for _, rows in health)
    with connect(private_pg.url, "public") as conn:
        assert conn.execute("SELECT reason, seq, detail FROM quarantine").fetchall() == []
        watermark = conn.execute("SELECT watermark FROM gateway_receipts WHERE gateway_id = %s", (GW,)).fetchone()
    assert watermark is not None and watermark[0] >= max(sent["telemetry"])
