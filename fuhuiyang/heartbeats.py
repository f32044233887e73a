"""Simulated gateways' heartbeats, and waiting for one to be in the database.

The fleet bench probes with them until ingest consumes; the demo's barrier sends one behind the
gateways' messages and waits until it is stored.
"""

from __future__ import annotations

import time

import psycopg

import protocol


def heartbeat(gateway_id: str, seq: int, ts_ms: int, uptime_s: float = 0.0, software: str = "sim") -> bytes:
    """An encoded health message of a simulated gateway with an empty outbox."""
    return protocol.encode(protocol.Health(
        gateway_id=gateway_id, seq=seq, ts=ts_ms, uptime_s=uptime_s, cpu_pct=4.0, mem_mb=45.0,
        disk_free_mb=2048.0, software=software, outbox=protocol.messages.OutboxState(depth=0),
    ))


def stored(conn: psycopg.Connection, gateway_id: str, seq: int) -> bool:
    """Stored, or quarantined (e.g. a probe gateway no farm owns): either way ingest has judged it."""
    row = conn.execute("SELECT 1 FROM health WHERE gateway_id = %s AND seq = %s "
                       "UNION ALL SELECT 1 FROM quarantine WHERE gateway_id = %s AND seq = %s LIMIT 1",
                       (gateway_id, seq, gateway_id, seq)).fetchone()
    return row is not None


def wait_stored(conn: psycopg.Connection, gateway_id: str, seq: int, timeout_s: float,
                poll_s: float = 0.02) -> bool:
    """True once heartbeat `seq` of `gateway_id` is stored or quarantined (`conn` in autocommit)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if stored(conn, gateway_id, seq):
            return True
        time.sleep(poll_s)
    return stored(conn, gateway_id, seq)
