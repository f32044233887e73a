"""The services a demo needs: database, broker, and the cloud processes, each its own process."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from cloud.db.connection import connect
from cloud.db.migrate import migrate
from fuhuiyang.services import mqtt as mqtt_services
from fuhuiyang.services import postgres as pg_services
from fuhuiyang.services.net import free_port, wait_for_port

log = logging.getLogger(__name__)

DEMO_SCHEMA = "fuhuiyang_demo"
DEMO_STILL_MINUTES = 150
DEMO_MAX_GAP_MINUTES = 75


@dataclass
class Stack:
    db_url: str
    schema: str
    broker: mqtt_services.BrokerEndpoint
    workdir: Path
    api_port: int
    owned: list[object] = field(default_factory=list)  # embedded servers we started
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        return {
            "FUHUIYANG_DATABASE_URL": self.db_url,
            "FUHUIYANG_DATABASE_SCHEMA": self.schema,
            "FUHUIYANG_MQTT_URL": self.broker.url,
            "FUHUIYANG_FRAMES_DIR": str(self.workdir / "frames"),
            "FUHUIYANG_JWT_SECRET": os.environ.get("FUHUIYANG_JWT_SECRET", uuid.uuid4().hex),
        }

    def connect(self, autocommit: bool = False) -> psycopg.Connection:
        return connect(self.db_url, self.schema, autocommit=autocommit)

    def spawn(self, name: str, *args: str) -> None:
        log_file = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "fuhuiyang", "-v", *args], env=os.environ | self.env(),
            stdout=log_file, stderr=subprocess.STDOUT,
        )

    def alive(self, name: str) -> bool:
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def stop_processes(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()

    def close(self) -> None:
        self.stop_processes()
        for server in reversed(self.owned):
            server.stop()  # type: ignore[attr-defined]


def start_stack(database_url: str, mqtt_url: str, workdir: Path, schema: str = DEMO_SCHEMA) -> Stack:
    """Configured servers when they answer, else embedded ones; a fresh demo schema."""
    owned: list[object] = []
    db_url, embedded_pg = pg_services.find_or_start(database_url, workdir / "pg")
    if embedded_pg is not None:
        owned.append(embedded_pg)
    broker, embedded_broker = mqtt_services.find_or_start(mqtt_url)
    if embedded_broker is not None:
        owned.append(embedded_broker)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    with connect(db_url, schema, autocommit=True) as conn:
        migrate(conn, schema)
    return Stack(db_url, schema, broker, workdir, free_port(), owned)


def start_cloud(stack: Stack, *, detect: bool) -> None:
    """Ingest, detection (unless `detect` is false) and the API + web app, each a process."""
    group = f"demo-{uuid.uuid4().hex[:6]}"  # our own share group: other consumers never split our stream
    mqtt5 = stack.broker.supports_v5
    # One ingest worker: the demo's barrier relies on one consumer seeing the broker's order.
    ingest_args = ["--workers", "1", "--group", group] if mqtt5 else ["--mqtt-v311"]
    stack.spawn("ingest", "cloud", "ingest", "--client-id", f"ingest-{group}", *ingest_args)
    if detect:
        detect_args = ["--group", f"{group}-detect"] if mqtt5 else ["--mqtt-v311"]
        # The demo's cameras send a frame an hour (rendering is costly): a carcass is confirmed
        # after lying still over four lit frames, where a live camera at 5 min needs 30 min.
        sparse = ["--still-minutes", str(DEMO_STILL_MINUTES), "--max-gap-minutes", str(DEMO_MAX_GAP_MINUTES)]
        # One thread: a frame an hour per camera needs no more, and the agents need the other core.
        stack.spawn("detect", "cloud", "detect", "--client-id", f"detect-{group}", "--threads", "1",
                    *detect_args, *sparse)
    stack.spawn("api", "cloud", "api", "--host", "127.0.0.1", "--port", str(stack.api_port))
    wait_for_port("127.0.0.1", stack.api_port, timeout=60)
