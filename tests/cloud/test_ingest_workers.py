"""Two `fuhuiyang cloud ingest` processes on one shared subscription; one is SIGKILLed mid-batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable

import pytest

from tests.cloud.conftest import CloudWorker, Publisher, count, telemetry, wait_until
from tests.support.databases import TestDatabase

MESSAGES, POINTS = 200, 25


@pytest.fixture
def workers(cloud_workers) -> Callable[[str], CloudWorker]:  # type: ignore[no-untyped-def]
    return lambda client_id: cloud_workers("ingest", client_id, "--batch-messages", "20", "--batch-wait", "0.05")


def _blocked_on_lock(db: TestDatabase, client_id: str) -> bool:
    return count(db, "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
                     "AND wait_event_type = 'Lock'", client_id) > 0


def test_two_workers_share_the_load_and_a_sigkill_loses_nothing(db, broker, workers) -> None:
    a, b = workers("ingest-test-a"), workers("ingest-test-b")
    pub = Publisher("127.0.0.1", broker.port)

    # Phase 1: both workers take part.
    for seq in range(MESSAGES):
        pub.send(telemetry(f"gw-{seq % 10}", seq, points=POINTS))
    wait_until(lambda: count(db, "SELECT count(*) FROM readings") == MESSAGES * POINTS, what="phase 1 rows")
    wait_until(lambda: a.metric("fhy_ingest_rows_written_total") + b.metric("fhy_ingest_rows_written_total")
               == MESSAGES * POINTS, what="written metrics")
    assert a.metric("fhy_ingest_rows_written_total") > 0
    assert b.metric("fhy_ingest_rows_written_total") > 0

    # Phase 2: hold the table so both workers are stuck inside a batch write, then SIGKILL one.
    locker = db.connect()
    locker.execute("LOCK TABLE readings IN SHARE ROW EXCLUSIVE MODE")
    for seq in range(MESSAGES, 2 * MESSAGES):
        pub.send(telemetry(f"gw-{seq % 10}", seq, points=POINTS))
    wait_until(lambda: _blocked_on_lock(db, "ingest-test-a") and _blocked_on_lock(db, "ingest-test-b"),
               what="both workers blocked mid-batch")
    os.kill(a.proc.pid, signal.SIGKILL)
    a.proc.wait(30)
    locker.rollback()  # release: b commits its batch; a's transaction dies with its connection
    locker.close()

    # The killed worker comes back under the same id and gets its unacknowledged messages again.
    a2 = workers("ingest-test-a")
    expected = 2 * MESSAGES * POINTS
    wait_until(lambda: count(db, "SELECT count(*) FROM readings") >= expected, what="all rows after restart")
    pub.close()
    with db.connect() as conn:
        total, distinct, messages = conn.execute(
            "SELECT count(*), count(DISTINCT (gateway_id, seq, idx)), count(DISTINCT (gateway_id, seq)) "
            "FROM readings").fetchone()
    assert (total, distinct, messages) == (expected, expected, 2 * MESSAGES)
    # What the dead worker held unacknowledged was redelivered to its successor, not lost.
    assert a2.metric("fhy_ingest_rows_written_total") > 0


def test_retiring_a_stopped_worker_hands_over_its_share(db, broker, workers, tmp_path) -> None:
    """Mosquitto keeps routing a share of the stream to a stopped member's session; `--retire`
    writes what that session holds and takes the id out of the group, so nothing is stranded."""
    a, b = workers("ingest-ret-a"), workers("ingest-ret-b")
    a.stop()  # SIGTERM: a plain stop keeps the session (a restart would pick up from here)
    pub = Publisher("127.0.0.1", broker.port)
    for seq in range(100):
        pub.send(telemetry(f"gw-{seq % 5}", seq, points=10)).wait_for_publish(10)
    wait_until(lambda: b.metric("fhy_ingest_rows_written_total") > 0, what="b writing its share")
    assert count(db, "SELECT count(*) FROM readings") < 1000  # a's share waits in its session

    env = {**os.environ, **db.env(), "FUHUIYANG_MQTT_URL": broker.url, "FUHUIYANG_FRAMES_DIR": str(tmp_path)}
    retired = subprocess.run([sys.executable, "-m", "fuhuiyang", "cloud", "ingest", "--client-id",
                              "ingest-ret-a", "--retire"], env=env, capture_output=True, text=True, timeout=300)
    assert retired.returncode == 0, retired.stderr
    wait_until(lambda: count(db, "SELECT count(*) FROM readings") == 1000, what="a's share written")

    for seq in range(100, 200):  # only b is left in the group now
        pub.send(telemetry(f"gw-{seq % 5}", seq, points=10))
    wait_until(lambda: count(db, "SELECT count(*) FROM readings") == 2000, what="all of the new stream at b")
    pub.close()
    assert count(db, "SELECT count(DISTINCT (gateway_id, seq, idx)) FROM readings") == 2000
