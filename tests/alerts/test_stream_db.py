"""Alert changes saved by the worker reach the API's SSE stream through LISTEN/NOTIFY."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from cloud.alerts.lifecycle import AlertEngine
from cloud.alerts.model import NH3_HIGH, AlertKey, Finding, Severity
from cloud.alerts.store_pg import PgAlertStore
from cloud.api import sessions
from cloud.api.security import TokenIssuer
from cloud.notify import stream_routes
from cloud.notify.stream import AlertStream
from cloud.notify.stream_feed import AlertFeed
from cloud.settings import CloudSettings
from fuhuiyang.processes.api import make_pool
from tests.support.databases import TestDatabase

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _finding(farm: str) -> Finding:
    return Finding(AlertKey(farm, "h1", NH3_HIGH), Severity.WARNING, T0, "nh3_above", 22.0, 20.0)


@pytest.mark.timeout(60)
def test_worker_saves_reach_subscribers_in_scope(db: TestDatabase) -> None:
    async def scenario() -> list[str]:
        stream = AlertStream()
        feed = AlertFeed(db.url, db.schema, stream, asyncio.get_running_loop())
        feed.start()
        try:
            assert await asyncio.to_thread(feed.wait_ready)
            mine = stream.open(visible=lambda alert: alert.get("farm") == "farm-a")

            def worker() -> None:  # another connection, as the alert worker process would be
                with db.connect() as conn:
                    engine = AlertEngine(store=PgAlertStore(conn))
                    engine.observe(_finding("farm-b"))
                    engine.observe(_finding("farm-a"))

            await asyncio.to_thread(worker)
            frame = await asyncio.wait_for(mine.next_frame(keepalive_s=30), timeout=30)
            return [frame]
        finally:
            feed.stop()

    frames = asyncio.run(scenario())
    data = json.loads(frames[0].splitlines()[2].removeprefix("data: "))
    assert data["alert"]["farm"] == "farm-a" and data["kind"] == "opened"


@pytest.mark.timeout(60)
def test_stream_route_needs_login_and_replays_for_the_callers_farms(db: TestDatabase) -> None:
    with db.connect() as conn:
        conn.execute("INSERT INTO regions (id, level, name) VALUES ('t', 'township', '青华镇')")
        uid = conn.execute(
            "INSERT INTO users (username, password_hash, role) VALUES ('li', 'x', 'farmer') RETURNING id"
        ).fetchone()
        assert uid is not None
        conn.execute(
            "INSERT INTO farms (id, name, region_id, owner_user_id) VALUES ('farm-a', '李家坪', 't', %s)",
            (uid[0],),
        )
        conn.execute("INSERT INTO farms (id, name, region_id) VALUES ('farm-b', '王家沟', 't')")
        conn.commit()
    stream = AlertStream()
    for farm in ("farm-b", "farm-a"):
        stream.publish_data({"kind": "opened", "alert": {"farm": farm, "type": "nh3_high"}})
    app = FastAPI()
    pool = make_pool(CloudSettings(database_url=db.url, database_schema=db.schema))
    pool.open()
    issuer = TokenIssuer("s" * 32, timedelta(hours=1))
    app.state.pool, app.state.issuer, app.state.alert_stream = pool, issuer, stream
    app.state.alert_stream_keepalive_s = 0.2
    app.include_router(stream_routes.router)
    try:
        with TestClient(app) as http:
            assert http.get("/alerts/stream").status_code == 401
            with db.connect() as conn:  # a token names a live server-side session
                token = sessions.open_session(conn, issuer, int(uid[0]), "farmer", datetime.now(UTC))
                conn.commit()
            headers = {"Authorization": f"Bearer {token}", "Last-Event-ID": "0"}
            with http.stream("GET", "/alerts/stream", headers=headers) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                lines = []
                for line in response.iter_lines():
                    lines.append(line)
                    if line.startswith("data: "):
                        break
        data = json.loads(lines[-1].removeprefix("data: "))
        assert lines[0] == "id: 2" and data["alert"]["farm"] == "farm-a"  # farm-b is not theirs
    finally:
        pool.close()
