"""Requests to adapt a camera's own model (table `adapt_requests`): asked for in the console,
taken and settled by `fuhuiyang models adapt-worker`. One open request a camera.

States: `queued` → `running` → `done` (with the registered model) or `failed` (with why). A
running request carries the worker's budget and the last stage it reported (`report`), so the
console can say how far it has got and when it will be ready. A request left `running` by a
worker that died is failed by the next worker once it is older than any adaptation could take
(`abandon_stale`), so the camera can be asked for again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

COLUMNS = ("id, farm_id, gateway_id, camera_id, state, requested_by, requested_at, started_at, finished_at, "
           "model, result, error, budget_minutes, progress, progress_at")


def ask(conn: psycopg.Connection, farm_id: str, gateway_id: str, camera_id: str, user_id: int | None) -> int | None:
    """Queue a request; None where the camera has one queued or running already."""
    row = conn.execute(
        "INSERT INTO adapt_requests (farm_id, gateway_id, camera_id, requested_by) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (gateway_id, camera_id) WHERE state IN ('queued', 'running') DO NOTHING RETURNING id",
        (farm_id, gateway_id, camera_id, user_id)).fetchone()
    return None if row is None else int(row[0])


def latest(conn: psycopg.Connection, gateway_id: str, camera_id: str) -> dict[str, Any] | None:
    """The camera's newest request, whatever its state, with `ahead`: for a queued one, the
    requests running or queued before it (each takes up to a budget of a worker's time)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {COLUMNS}, CASE WHEN r.state = 'queued' THEN ("
            "  SELECT count(*) FROM adapt_requests o WHERE o.state = 'running' OR (o.state = 'queued' "
            "  AND (o.requested_at, o.id) < (r.requested_at, r.id))) END AS ahead "
            "FROM adapt_requests r WHERE gateway_id = %s AND camera_id = %s "
            "ORDER BY requested_at DESC, id DESC LIMIT 1", (gateway_id, camera_id)).fetchone()


def claim(conn: psycopg.Connection, now: datetime, budget_minutes: float) -> dict[str, Any] | None:
    """The oldest queued request, now `running` for this worker alone, which will take at most
    `budget_minutes`; None when none waits."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "UPDATE adapt_requests SET state = 'running', started_at = %s, budget_minutes = %s WHERE id = ("
            "  SELECT id FROM adapt_requests WHERE state = 'queued' ORDER BY requested_at, id "
            f"  LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING {COLUMNS}", (now, budget_minutes)).fetchone()


def report(conn: psycopg.Connection, request_id: int, progress: dict[str, Any], now: datetime) -> None:
    """The stage a running request has reached (what `models.adapt` reports: its `stage`, and
    while training the network it is on of how many at most)."""
    conn.execute("UPDATE adapt_requests SET progress = %s, progress_at = %s WHERE id = %s AND state = 'running'",
                 (Jsonb(progress), now, request_id))


def settle(conn: psycopg.Connection, request_id: int, now: datetime, *, model: str | None = None,
           result: dict[str, Any] | None = None, error: str | None = None) -> None:
    """A running request done (its model and what the adaptation reported) or failed (why)."""
    conn.execute("UPDATE adapt_requests SET state = %s, finished_at = %s, model = %s, result = %s, error = %s "
                 "WHERE id = %s AND state = 'running'",
                 ("failed" if error is not None else "done", now, model,
                  None if result is None else Jsonb(result), error, request_id))


def abandon_stale(conn: psycopg.Connection, started_before: datetime, now: datetime) -> int:
    """Fail the requests still `running` that started before `started_before`; how many."""
    return conn.execute(
        "UPDATE adapt_requests SET state = 'failed', finished_at = %s, "
        "error = 'the adapting worker stopped before it finished; ask again' "
        "WHERE state = 'running' AND started_at < %s", (now, started_before)).rowcount
