"""Ingest against a real Mosquitto and PostgreSQL: idempotent writes, quarantine, gateway state."""

from __future__ import annotations

import hashlib
import json

from cloud.ingest.metrics import IngestMetrics
from protocol import (
    AppliedConfig,
    FrameMeta,
    GatewayStatus,
    Health,
    Kind,
    Weighing,
    Weight,
    encode,
    encode_frame,
    topic_for,
)
from protocol.messages import CameraState, OutboxState, SensorState
from tests.cloud.conftest import BASE_MS, Publisher, count, running_ingest, telemetry, wait_until

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 100 + b"\xff\xd9"


def _value(metrics: IngestMetrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def _seed_gateway(db, gateway_id: str) -> None:
    with db.connect() as conn:
        conn.execute("INSERT INTO regions (id, level, name) VALUES ('r1', 'county', 'R') ON CONFLICT DO NOTHING")
        conn.execute("INSERT INTO farms (id, name, region_id) VALUES ('f1', 'F', 'r1') ON CONFLICT DO NOTHING")
        conn.execute("INSERT INTO gateways (id, farm_id) VALUES (%s, 'f1') ON CONFLICT DO NOTHING", (gateway_id,))
        conn.commit()


def test_telemetry_lands_once_even_when_redelivered(db, broker, tmp_path) -> None:
    pub = Publisher("127.0.0.1", broker.port)
    with running_ingest(db, broker.url, tmp_path) as (_, metrics, _sub):
        for seq in range(20):
            pub.send(telemetry("gw-a", seq, points=50))
        wait_until(lambda: count(db, "SELECT count(*) FROM readings") == 1000, what="1000 readings")
        # The same messages again (a gateway replaying its outbox after a lost PUBACK).
        for seq in range(20):
            pub.send(telemetry("gw-a", seq, points=50))
        wait_until(lambda: _value(metrics, "fhy_ingest_duplicate_rows_total", table="messages") == 20,
                   what="duplicates counted")
    pub.close()
    assert count(db, "SELECT count(*) FROM readings") == 1000
    assert count(db, "SELECT count(DISTINCT (seq, idx)) FROM readings WHERE gateway_id = 'gw-a'") == 1000
    assert _value(metrics, "fhy_ingest_rows_written_total", table="readings") == 1000


def test_bad_messages_are_quarantined_and_neighbours_land(db, broker, tmp_path) -> None:
    pub = Publisher("127.0.0.1", broker.port)
    good = [telemetry("gw-b", seq, points=5) for seq in range(6)]
    oversized = b'{"v":"1.1","gateway_id":"gw-b","seq":1,"points":[' + b" " * (300 * 1024) + b"]}"
    with running_ingest(db, broker.url, tmp_path) as (_, metrics, _sub):
        pub.send(good[0])
        pub.publish(topic_for("gw-b", Kind.TELEMETRY), b"{not json")
        pub.send(good[1])
        pub.publish(topic_for("gw-b", Kind.TELEMETRY), oversized)
        pub.send(good[2])
        pub.publish("fhy/v1/gw-b/unknown-kind", b"{}")
        pub.publish("fhy/v9/gw-b/telemetry", encode(good[3]))
        pub.send(good[3])
        pub.publish(topic_for("gw-other", Kind.TELEMETRY), encode(good[4]))  # someone else's id
        # Telemetry on the health topic, under a seq of its own: the first message with a seq wins.
        pub.publish(topic_for("gw-b", Kind.HEALTH), encode(telemetry("gw-b", 40, points=5)))
        pub.send(good[4])
        # The cloud's own desired-config push also matches fhy/#: not stored, not quarantined.
        pub.publish(topic_for("gw-b", Kind.CONFIG_DESIRED), b'{"v":"1.1","gateway_id":"gw-b"}')
        pub.send(good[5])
        wait_until(lambda: count(db, "SELECT count(*) FROM quarantine") == 6, what="6 quarantined")
        wait_until(lambda: count(db, "SELECT count(*) FROM readings") == 30, what="all good readings")
    pub.close()
    assert _value(metrics, "fhy_ingest_messages_received_total", kind="config/desired") == 1
    assert count(db, "SELECT count(*) FROM quarantine") == 6
    with db.connect() as conn:
        reasons = dict(conn.execute("SELECT reason, count(*) FROM quarantine GROUP BY reason").fetchall())
        sizes = conn.execute("SELECT max(size), max(length(payload)) FROM quarantine").fetchone()
    assert reasons == {"bad_json": 1, "too_large": 1, "bad_topic": 1, "unsupported_version": 1,
                       "gateway_mismatch": 1, "invalid": 1}
    assert sizes[0] > 300 * 1024 and sizes[1] <= 64 * 1024  # size recorded, payload capped
    assert _value(metrics, "fhy_ingest_messages_rejected_total", reason="too_large") == 1
    assert _value(metrics, "fhy_ingest_messages_rejected_total", reason="gateway_mismatch") == 1


def test_state_messages_update_gateway_tables(db, broker, tmp_path) -> None:
    _seed_gateway(db, "gw-c")
    pub = Publisher("127.0.0.1", broker.port)
    ts = BASE_MS + 3_600_000
    meta = FrameMeta(gateway_id="gw-c", seq=5, ts=ts, camera="cam1", house="h1", width=64, height=48,
                     size=len(JPEG), sha256=hashlib.sha256(JPEG).hexdigest())
    with running_ingest(db, broker.url, tmp_path) as _:
        pub.publish(topic_for("gw-c", Kind.STATUS),
                    encode(GatewayStatus(gateway_id="gw-c", seq=1, ts=ts, state="online", software="edge 1.2")))
        pub.publish(topic_for("gw-c", Kind.HEALTH), encode(Health(
            gateway_id="gw-c", seq=2, ts=ts + 1000, uptime_s=60, cpu_pct=5, mem_mb=100, disk_free_mb=900,
            software="edge 1.2", outbox=OutboxState(depth=3),
            sensors=[SensorState(sensor="t1", metric="temperature_c", state="fault", faults=["stuck"]),
                     # one transmitter, two metrics: the healthy one must not hide the faulty one
                     SensorState(sensor="th", metric="humidity_pct", state="fault", faults=["spike"]),
                     SensorState(sensor="th", metric="temperature_c", state="ok")],
            cameras=[CameraState(camera="cam1", state="blind")])))
        pub.publish(topic_for("gw-c", Kind.CONFIG_APPLIED), encode(
            AppliedConfig(gateway_id="gw-c", seq=3, ts=ts + 2000, version=4, status="applied")))
        pub.publish(topic_for("gw-c", Kind.WEIGHING), encode(Weighing(
            gateway_id="gw-c", seq=4, sent_at=ts, scale="sc1", house="h1",
            weights=[Weight(ts=ts + i, g=1500 + i) for i in range(7)])))
        pub.publish(topic_for("gw-c", Kind.FRAME), encode_frame(meta, JPEG))
        pub.publish(topic_for("gw-c", Kind.FRAME), encode_frame(meta, JPEG))  # redelivered frame
        wait_until(lambda: count(db, "SELECT count(*) FROM frames") == 1
                   and count(db, "SELECT count(*) FROM weighings") == 7
                   and count(db, "SELECT count(*) FROM gateway_events") == 2
                   and count(db, "SELECT count(*) FROM health") == 1, what="state rows")
        # An older status arriving late must not overwrite the newer one.
        pub.publish(topic_for("gw-c", Kind.STATUS),
                    encode(GatewayStatus(gateway_id="gw-c", seq=0, ts=ts - 5000, state="offline")))
        wait_until(lambda: count(db, "SELECT count(*) FROM gateway_events") == 3, what="late status")
    pub.close()
    with db.connect() as conn:
        gw = conn.execute("SELECT status, software, applied_version, applied_status, last_seen IS NOT NULL "
                          "FROM gateways WHERE id = 'gw-c'").fetchone()
        sensor = conn.execute("SELECT state, faults, metric FROM sensors WHERE gateway_id = 'gw-c' AND id = 't1'").fetchone()
        two_metrics = conn.execute("SELECT state, faults, metric FROM sensors WHERE id = 'th'").fetchone()
        camera = conn.execute("SELECT state FROM cameras WHERE gateway_id = 'gw-c'").fetchone()
        frame = conn.execute("SELECT sha256, path, bytes FROM frames").fetchone()
        health = conn.execute("SELECT outbox_depth, payload FROM health").fetchone()
    assert gw == ("online", "edge 1.2", 4, "applied", True)
    assert sensor == ("fault", ["stuck"], "temperature_c")
    assert two_metrics == ("fault", ["spike"], None)
    assert camera == ("blind",)
    assert frame[0] == hashlib.sha256(JPEG).hexdigest() and frame[2] == len(JPEG)
    assert (tmp_path / frame[1]).read_bytes() == JPEG
    assert health[0] == 3 and json.loads(json.dumps(health[1]))["software"] == "edge 1.2"


def test_ingest_into_timescaledb(tsdb, broker, tmp_path) -> None:
    """Broker to hypertables on the PGlite TimescaleDB engine (one connection: checked after stop)."""
    pub = Publisher("127.0.0.1", broker.port)
    with running_ingest(tsdb, broker.url, tmp_path) as (_, metrics, _sub):
        for seq in range(5):
            pub.send(telemetry("gw-ts", seq, points=20))
        pub.send(telemetry("gw-ts", 2, points=20))  # a replay
        pub.publish(topic_for("gw-ts", Kind.TELEMETRY), b"[]")
        wait_until(lambda: _value(metrics, "fhy_ingest_rows_written_total", table="readings") == 100
                   and _value(metrics, "fhy_ingest_duplicate_rows_total", table="messages") == 1
                   and _value(metrics, "fhy_ingest_messages_rejected_total", reason="invalid") == 1,
                   what="rows, duplicates and the rejection counted")
    pub.close()
    with tsdb.connect() as conn:
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (100,)
        assert conn.execute("SELECT reason FROM quarantine").fetchall() == [("invalid",)]
        hypertable = conn.execute(
            "SELECT count(*) FROM timescaledb_information.hypertables "
            "WHERE hypertable_schema = %s AND hypertable_name = 'readings'", (tsdb.schema,)).fetchone()
    assert hypertable == (1,)
