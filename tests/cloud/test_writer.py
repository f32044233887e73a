"""BatchWriter and IngestService without a broker: both engines, both write methods, failure paths."""

from __future__ import annotations

import queue
import threading
from datetime import date
from typing import Any

import psycopg
import pytest

from cloud.frames_store import LocalFrameStore
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.rows import Judged, judge
from cloud.ingest.service import IngestService
from cloud.ingest.writer import BatchWriter
from messaging.subscriber import Delivery
from protocol import Kind, Weighing, Weight, encode, topic_for
from protocol.messages import WeighingSummary
from tests.cloud.conftest import BASE_MS, telemetry
from tests.support.farms import register


@pytest.fixture(autouse=True)
def _farm(request: pytest.FixtureRequest) -> None:
    """The gateways these tests write as, provisioned to one farm with its houses."""
    name = next(f for f in ("db", "any_db") if f in request.fixturenames)
    with request.getfixturevalue(name).connect() as conn:
        register(conn, "f1", ["gw-1", "gw-s", "gw-f", "gw-w"], houses=("h1", "h2"))


def _batch(*messages: tuple[Kind, Any]) -> list[Judged]:
    return [judge(topic_for(message.gateway_id, kind), encode(message)) for kind, message in messages]


def _weighing(seq: int, mean: float) -> Weighing:
    return Weighing(
        gateway_id="gw-w", seq=seq, sent_at=BASE_MS, scale="sc1", house="h1",
        weights=[Weight(ts=BASE_MS + seq * 1000 + i, g=1000 + i, dwell_s=2.5 if i % 2 else None)
                 for i in range(4)],
        summaries=[WeighingSummary(date=date(2025, 11, 27), count=100, mean_g=mean, median_g=mean, sd_g=80,
                                   cv_pct=8, uniformity_pct=85)],
    )


def test_writes_are_idempotent_on_both_engines(any_db, tmp_path) -> None:
    method = "unnest" if any_db.timescaledb else "copy"
    with any_db.connect() as conn:
        writer = BatchWriter(conn, LocalFrameStore(tmp_path), method)  # type: ignore[arg-type]
        first = writer.write(_batch((Kind.TELEMETRY, telemetry("gw-1", 1, 100)),
                                    (Kind.WEIGHING, _weighing(1, 1500.0))))
        again = writer.write(_batch((Kind.TELEMETRY, telemetry("gw-1", 1, 100)),
                                    (Kind.TELEMETRY, telemetry("gw-1", 2, 10)),
                                    (Kind.WEIGHING, _weighing(2, 1550.0)),
                                    (Kind.WEIGHING, _weighing(1, 1500.0))))
        readings = conn.execute("SELECT count(*), count(DISTINCT (seq, idx)) FROM readings").fetchone()
        summary = conn.execute("SELECT mean_g, seq FROM weighing_summaries").fetchall()
        dwell = conn.execute("SELECT count(*) FROM weighings WHERE dwell_s IS NULL").fetchone()
    assert first.written["readings"] == 100 and first.written["weighings"] == 4
    # The replayed messages are known by (gateway_id, seq) in the ledger: no row is even attempted.
    assert again.written["readings"] == 10 and again.duplicates["messages"] == 2
    assert again.written["weighings"] == 4 and again.duplicates["readings"] == 0
    assert readings == (110, 110)
    assert summary == [(1550.0, 2)]  # the newer message's summary wins, an old replay does not
    assert dwell == (4,)


def test_hourly_view_reads_ingested_rows(any_db, tmp_path) -> None:
    with any_db.connect() as conn:
        BatchWriter(conn, LocalFrameStore(tmp_path)).write(_batch((Kind.TELEMETRY, telemetry("gw-1", 1, 60))))
        if any_db.timescaledb:
            conn.commit()
            conn.autocommit = True
            conn.execute("CALL refresh_continuous_aggregate('env_hourly', NULL, NULL)")
        rows = conn.execute("SELECT house_id, metric, n FROM env_hourly").fetchall()
    assert rows == [("h1", "temperature_c", 60)]


class _Acks:
    def __init__(self) -> None:
        self.acked: list[int] = []

    def ack(self, delivery: Delivery) -> None:
        self.acked.append(delivery.mid)


def _deliveries(n: int) -> list[Delivery]:
    return [Delivery(topic_for("gw-s", Kind.TELEMETRY), encode(telemetry("gw-s", i, 5)), i + 1, 1, 1, 0.0)
            for i in range(n)]


def test_database_outage_holds_acks_until_the_batch_commits(db, tmp_path) -> None:
    attempts = {"n": 0}

    def flaky_connect() -> psycopg.Connection:
        attempts["n"] += 1
        if attempts["n"] <= 2:
            raise psycopg.OperationalError("connection refused (simulated outage)")
        return db.connect()

    acks, metrics, sleeps = _Acks(), IngestMetrics(), list[float]()
    service = IngestService(queue.Queue(), acks, flaky_connect,
                            lambda conn: BatchWriter(conn, LocalFrameStore(tmp_path)), metrics,
                            sleep=sleeps.append)
    service.process(_deliveries(3), threading.Event())
    service.close()
    assert attempts["n"] == 3 and sleeps == [0.5, 1.0]  # backed off twice, no ack meanwhile
    assert acks.acked == [1, 2, 3]
    assert metrics.registry.get_sample_value("fhy_ingest_batch_retries_total",
                                             {"cause": "OperationalError"}) == 2
    with db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (15,)


def test_a_message_the_database_refuses_is_quarantined_alone(db, tmp_path) -> None:
    with db.connect() as conn:  # a constraint the wire contract does not know about
        conn.execute("ALTER TABLE readings ADD CONSTRAINT no_seq_3 CHECK (seq <> 3)")
        conn.commit()
    acks, metrics = _Acks(), IngestMetrics()
    service = IngestService(queue.Queue(), acks, db.connect,
                            lambda conn: BatchWriter(conn, LocalFrameStore(tmp_path), "unnest"), metrics)
    service.process(_deliveries(8))
    service.close()
    assert acks.acked == list(range(1, 9))
    with db.connect() as conn:
        assert conn.execute("SELECT count(DISTINCT seq) FROM readings").fetchone() == (7,)
        refused = conn.execute("SELECT reason, gateway_id, seq, payload FROM quarantine").fetchall()
    # The payload is kept, so the message can be replayed once the database accepts it.
    assert [(r[0], r[1], r[2]) for r in refused] == [("db_rejected", "gw-s", 3)]
    assert bytes(refused[0][3]) == encode(telemetry("gw-s", 3, 5))
    assert metrics.registry.get_sample_value("fhy_ingest_messages_rejected_total", {"reason": "db_rejected"}) == 1


@pytest.mark.parametrize("method", ["copy", "unnest"])
def test_copy_and_unnest_store_identical_rows(db, tmp_path, method) -> None:
    with db.connect() as conn:
        BatchWriter(conn, LocalFrameStore(tmp_path), method).write(
            _batch((Kind.TELEMETRY, telemetry("gw-1", 9, 3, house="h2"))))
        rows = conn.execute("SELECT ts, gateway_id, seq, idx, house_id, sensor_id, metric, value, quality "
                            "FROM readings ORDER BY idx").fetchall()
    assert [(r[0].timestamp() * 1000, r[2], r[3], r[4], r[5], r[7]) for r in rows] == [
        (BASE_MS + 9 * 60_000 + i, 9, i, "h2", f"s{i}", 20.0 + (i % 7) * 0.5) for i in range(3)]


class _FlakyStore(LocalFrameStore):
    def __init__(self, root, failures: int) -> None:
        super().__init__(root)
        self.failures = failures

    def put(self, data: bytes, sha256: str | None = None):
        if self.failures:
            self.failures -= 1
            raise OSError(28, "No space left on device")
        return super().put(data, sha256)


def test_frame_store_outage_holds_acks_and_retries(db, tmp_path) -> None:
    from protocol import FrameMeta, encode_frame

    jpeg = b"\xff\xd8\xff" + b"\x01" * 50 + b"\xff\xd9"
    meta = FrameMeta(gateway_id="gw-f", seq=1, ts=BASE_MS, camera="cam1", width=4, height=4, size=len(jpeg))
    delivery = Delivery(topic_for("gw-f", Kind.FRAME), encode_frame(meta, jpeg), 7, 1, 1, 0.0)
    acks, metrics, sleeps = _Acks(), IngestMetrics(), list[float]()
    store = _FlakyStore(tmp_path, failures=2)
    service = IngestService(queue.Queue(), acks, db.connect, lambda conn: BatchWriter(conn, store), metrics,
                            sleep=sleeps.append)
    service.process([delivery])
    service.close()
    assert sleeps == [0.5, 1.0] and acks.acked == [7]
    assert metrics.registry.get_sample_value("fhy_ingest_batch_retries_total", {"cause": "StorageUnavailable"}) == 2
    with db.connect() as conn:
        assert conn.execute("SELECT count(*) FROM frames").fetchone() == (1,)


def test_auto_write_method_avoids_copy_on_the_pglite_engine(any_db) -> None:
    from cloud.ingest.worker import resolve_write_method

    with any_db.connect() as conn:
        method = resolve_write_method(conn, "auto")
        version = conn.execute("SELECT version()").fetchone()[0]
    assert method == ("unnest" if any_db.timescaledb else "copy"), version


def test_watermark_follows_the_contiguous_run_and_the_ledger_is_pruned(db, tmp_path) -> None:
    from cloud.ingest.ledger import runs

    assert runs([1, 2, 3, 5, 7, 8]) == [(1, 3), (5, 5), (7, 8)]
    with db.connect() as conn:
        writer = BatchWriter(conn, LocalFrameStore(tmp_path), "unnest")
        first = writer.write(_batch(*((Kind.TELEMETRY, telemetry("gw-1", s, 2)) for s in (0, 1, 3, 4, 6))))
        assert first.receipts["gw-1"].upto == 1 and first.receipts["gw-1"].ranges() == [(3, 4), (6, 6)]
        second = writer.write(_batch((Kind.TELEMETRY, telemetry("gw-1", 2, 2)),
                                     (Kind.TELEMETRY, telemetry("gw-1", 0, 2))))  # 0 again: a duplicate
        assert second.duplicates["messages"] == 1
        assert second.receipts["gw-1"].upto == 4 and second.receipts["gw-1"].ranges() == []
        ledger = conn.execute("SELECT seq FROM message_ledger WHERE gateway_id = 'gw-1'").fetchall()
        stored = conn.execute("SELECT count(DISTINCT seq), count(*) FROM readings").fetchone()
    assert ledger == [(6,)]  # everything at or below the watermark is pruned
    assert stored == (6, 12)
