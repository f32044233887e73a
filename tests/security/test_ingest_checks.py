"""Attacks from one gateway's credentials on what ingest stores (issue 23, items 3, 5 and 6).

Each test sends what a hostile or broken gateway sent in the probe, through a private Mosquitto
and a real ingest worker into PostgreSQL, and shows it is quarantined with its payload and a
reason while the gateway's good data and every other farm's data are untouched.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from cloud.ingest.metrics import IngestMetrics
from protocol import (
    Alert,
    FrameMeta,
    GatewayStatus,
    Health,
    Kind,
    Reading,
    Receipt,
    Telemetry,
    Weighing,
    Weight,
    decode,
    encode,
    encode_frame,
    topic_for,
)
from protocol.messages import OutboxState
from tests.cloud.conftest import Publisher, count, running_ingest, wait_until
from tests.support.farms import register

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 100 + b"\xff\xd9"
NOW = int(time.time() * 1000)


@pytest.fixture
def broker(mosquitto_factory):  # type: ignore[no-untyped-def]
    return mosquitto_factory()


@pytest.fixture
def farms(db):  # type: ignore[no-untyped-def]
    """Two farms: gw-a's (house a1) and gw-b's (house b1)."""
    with db.connect() as conn:
        register(conn, "farm-a", ["gw-a"], houses=["a1"])
        register(conn, "farm-b", ["gw-b"], houses=["b1"])
    return db


def _rejected(metrics: IngestMetrics, reason: str) -> float:
    return metrics.registry.get_sample_value("fhy_ingest_messages_rejected_total", {"reason": reason}) or 0.0


def _telemetry(gw: str, seq: int, house: str, value: float = 24.0, ts: int = NOW - 60_000) -> Telemetry:
    return Telemetry(gateway_id=gw, seq=seq, sent_at=ts, points=[
        Reading(ts=ts + i, sensor="t1", metric="temperature_c", value=value, house=house) for i in range(2)])


def _quarantine(db) -> list[tuple[str, str, int, bytes]]:  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        rows = conn.execute("SELECT reason, gateway_id, seq, payload FROM quarantine ORDER BY seq").fetchall()
    return [(r[0], r[1], r[2], bytes(r[3])) for r in rows]


def test_a_gateway_cannot_write_into_another_farm(farms, broker, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = farms
    pub = Publisher("127.0.0.1", broker.port)
    meta = FrameMeta(gateway_id="gw-a", seq=3, ts=NOW - 1000, camera="cam9", house="b1", width=64, height=48,
                     size=len(JPEG), sha256=hashlib.sha256(JPEG).hexdigest())
    hostile = {
        1: (Kind.TELEMETRY, encode(_telemetry("gw-a", 1, "b1", 39.5))),
        2: (Kind.WEIGHING, encode(Weighing(gateway_id="gw-a", seq=2, sent_at=NOW - 1000, scale="sc1", house="b1",
                                           weights=[Weight(ts=NOW - 2000, g=19_999)]))),
        3: (Kind.FRAME, encode_frame(meta, JPEG)),
        4: (Kind.ALERT, encode(Alert(gateway_id="gw-a", seq=4, ts=NOW - 1000, house="b1", type="heat_stress",
                                     severity="critical", value=39.5))),
    }
    with running_ingest(db, broker.url, tmp_path) as (_, metrics, _sub):
        for kind, payload in hostile.values():
            pub.publish(topic_for("gw-a", kind), payload)
        pub.send(_telemetry("gw-a", 5, "a1"))  # its own house: stored
        pub.send(_telemetry("gw-b", 1, "b1", 21.0))  # the other farm's own data: stored
        pub.send(_telemetry("gw-x", 1, "a1"))  # a gateway no farm owns
        wait_until(lambda: count(db, "SELECT count(*) FROM quarantine") == 5
                   and count(db, "SELECT count(*) FROM readings") == 4, what="quarantined and stored")
    pub.close()
    quarantined = _quarantine(db)
    assert [(r, gw, seq) for r, gw, seq, _ in quarantined if gw == "gw-a"] == [
        ("foreign_house", "gw-a", seq) for seq in (1, 2, 3, 4)]
    for _, gw, seq, payload in quarantined:  # each kept with its payload, for a person to judge
        if gw == "gw-a" and hostile[seq][0] is not Kind.FRAME:
            assert payload == hostile[seq][1]
    assert ("unknown_gateway", "gw-x", 1) in [(r, gw, seq) for r, gw, seq, _ in quarantined]
    with db.connect() as conn:
        assert conn.execute("SELECT gateway_id, house_id, value FROM readings WHERE house_id = 'b1'").fetchall() \
            == [("gw-b", "b1", 21.0)] * 2
        assert conn.execute("SELECT count(*) FROM weighings").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM frames").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM gateway_events").fetchone() == (0,)
    assert _rejected(metrics, "foreign_house") == 4 and _rejected(metrics, "unknown_gateway") == 1


def test_impossible_readings_are_quarantined(farms, broker, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = farms
    pub = Publisher("127.0.0.1", broker.port)
    with running_ingest(db, broker.url, tmp_path) as (_, metrics, _sub):
        pub.send(_telemetry("gw-a", 1, "a1", 1e308))
        pub.send(_telemetry("gw-a", 2, "a1", -1e308))
        pub.send(_telemetry("gw-a", 3, "a1", 25.0))
        wait_until(lambda: count(db, "SELECT count(*) FROM quarantine") == 2
                   and count(db, "SELECT count(*) FROM readings") == 2, what="two quarantined, one stored")
    pub.close()
    assert [(r, seq) for r, _, seq, _ in _quarantine(db)] == [("out_of_range", 1), ("out_of_range", 2)]
    assert _quarantine(db)[0][3] == encode(_telemetry("gw-a", 1, "a1", 1e308))
    with db.connect() as conn:  # the hourly average the alert cycle reads stays finite
        assert conn.execute("SELECT max(abs(value)), avg(value) FROM readings").fetchone() == (25.0, 25.0)
    assert _rejected(metrics, "out_of_range") == 2


def test_a_status_from_2099_is_quarantined_and_last_seen_stays_real(farms, broker, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = farms
    pub = Publisher("127.0.0.1", broker.port)
    year_2099 = 4_070_908_800_000
    with running_ingest(db, broker.url, tmp_path) as (_, metrics, _sub):
        pub.publish(topic_for("gw-a", Kind.STATUS), encode(GatewayStatus(
            gateway_id="gw-a", seq=1, ts=year_2099, state="online")))
        # Inside the bound (a clock a few minutes fast): stored, but last-seen not beyond now.
        pub.publish(topic_for("gw-a", Kind.STATUS), encode(GatewayStatus(
            gateway_id="gw-a", seq=2, ts=int(time.time() * 1000) + 300_000, state="online")))
        wait_until(lambda: count(db, "SELECT count(*) FROM gateway_events") == 1
                   and count(db, "SELECT count(*) FROM quarantine") == 1, what="one stored, one quarantined")
        pub.publish(topic_for("gw-a", Kind.STATUS), encode(GatewayStatus(
            gateway_id="gw-a", seq=3, ts=int(time.time() * 1000), state="offline", reason="connection lost")))
        wait_until(lambda: count(db, "SELECT count(*) FROM gateway_events") == 2, what="the real offline")
    pub.close()
    assert [(r, seq) for r, _, seq, _ in _quarantine(db)] == [("future_ts", 1)]
    with db.connect() as conn:
        status, future = conn.execute(
            "SELECT status, last_seen > now() OR status_at > now() FROM gateways WHERE id = 'gw-a'").fetchone()
    assert status == "offline" and future is False  # the later real event is not ignored
    assert _rejected(metrics, "future_ts") == 1


def test_the_same_seq_with_another_timestamp_is_stored_once(farms, broker, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = farms
    pub = Publisher("127.0.0.1", broker.port)
    with running_ingest(db, broker.url, tmp_path) as (_, metrics, _sub):
        pub.send(_telemetry("gw-a", 7, "a1", 24.0, ts=NOW - 60_000)).wait_for_publish(10)
        wait_until(lambda: count(db, "SELECT count(*) FROM readings") == 2, what="first copy")
        pub.send(_telemetry("gw-a", 7, "a1", 30.0, ts=NOW - 30_000))
        wait_until(lambda: (metrics.registry.get_sample_value("fhy_ingest_duplicate_rows_total",
                                                              {"table": "messages"}) or 0) == 1,
                   what="the second copy judged a duplicate")
    pub.close()
    with db.connect() as conn:
        assert conn.execute("SELECT count(*), max(value) FROM readings").fetchone() == (2, 24.0)


class ReceiptListener:
    """What a gateway would read on its receipt topic."""

    def __init__(self, port: int, gateway_id: str) -> None:
        self.receipts: list[Receipt] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"rl-{uuid.uuid4().hex[:6]}",
                                  protocol=mqtt.MQTTv5)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic_for(gateway_id, Kind.RECEIPT), qos=1)
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._subscribed.wait(10)

    def _on_message(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.receipts.append(decode(Kind.RECEIPT, bytes(msg.payload)))

    def covered(self) -> set[int]:
        with self._lock:
            return {s for r in self.receipts for s in range(0, 100) if r.covers(s)}

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_receipts_cover_what_is_stored_and_pass_the_gaps_the_gateway_reports(farms, broker, tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = farms
    listener = ReceiptListener(broker.port, "gw-a")
    pub = Publisher("127.0.0.1", broker.port)
    with running_ingest(db, broker.url, tmp_path) as _:
        for seq in (0, 1, 2, 4, 5):  # 3 was dropped by a full outbox on the gateway
            pub.send(_telemetry("gw-a", seq, "a1"))
        pub.publish(topic_for("gw-a", Kind.TELEMETRY), b'{"seq": 6, "not": "valid"}')  # quarantined
        wait_until(lambda: listener.covered() >= {0, 1, 2, 4, 5, 6}, what="receipts for 0-2 and 4-6")
        assert 3 not in listener.covered()
        with db.connect() as conn:
            assert conn.execute("SELECT watermark FROM gateway_receipts WHERE gateway_id = 'gw-a'").fetchone() == (2,)
        # The gateway's heartbeat says it holds nothing below 7: the watermark passes the gap.
        pub.publish(topic_for("gw-a", Kind.HEALTH), encode(Health(
            gateway_id="gw-a", seq=7, ts=NOW, uptime_s=1, cpu_pct=1, mem_mb=1, disk_free_mb=1, software="t",
            outbox=OutboxState(depth=0, unconfirmed=0, held_from=7))))
        wait_until(lambda: any(r.upto == 7 for r in listener.receipts), what="a receipt up to 7")
    pub.close()
    listener.close()
    with db.connect() as conn:
        assert conn.execute("SELECT watermark, held_from, backlog FROM gateway_receipts "
                            "WHERE gateway_id = 'gw-a'").fetchone() == (7, 7, 0)
        assert conn.execute("SELECT count(*) FROM message_ledger WHERE gateway_id = 'gw-a'").fetchone() == (0,)
