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
from fuhuiyang.demo.secure_broker import (
    Login,
    SecureBroker,
    start_secure_broker,
    unavailable_reason,
)
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
    secure: SecureBroker | None = None  # TLS, dynamic security, per-gateway logins
    broker_note: str | None = None  # why the demo runs on a less secure broker, when it does
    jwt_secret: str = field(default_factory=lambda: os.environ.get("FUHUIYANG_JWT_SECRET", uuid.uuid4().hex))

    @property
    def ca_file(self) -> str | None:
        return str(self.secure.tls.ca_file) if self.secure else None

    def env(self, process: str | None = None) -> dict[str, str]:
        """The settings of cloud process `process`: on the secure broker, its own login."""
        env = {
            "FUHUIYANG_DATABASE_URL": self.db_url,
            "FUHUIYANG_DATABASE_SCHEMA": self.schema,
            "FUHUIYANG_MQTT_URL": self.broker.url,
            "FUHUIYANG_FRAMES_DIR": str(self.workdir / "frames"),
            "FUHUIYANG_JWT_SECRET": self.jwt_secret,
        }
        if self.secure is not None:
            env["FUHUIYANG_MQTT_CA_FILE"] = str(self.secure.tls.ca_file)
            login = self.secure.services.get(process or "")
            if login is not None:
                env["FUHUIYANG_MQTT_USERNAME"] = login.username
                env["FUHUIYANG_MQTT_PASSWORD"] = login.password
            if process == "api":  # gateways registered or rotated in the console reach the broker
                env["FUHUIYANG_DYNSEC_ADMIN_PASSWORD"] = self.secure.admin_password
        return env

    def login(self, process: str) -> Login | None:
        return self.secure.services.get(process) if self.secure else None

    def connect(self, autocommit: bool = False) -> psycopg.Connection:
        return connect(self.db_url, self.schema, autocommit=autocommit)

    def spawn(self, name: str, *args: str) -> None:
        log_file = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "fuhuiyang", "-v", *args], env=_inherited() | self.env(name),
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


GATEWAY_PASSWORD_ENV_PREFIX = "FHY_DEMO_GATEWAY_PASSWORD_"


def _inherited() -> dict[str, str]:
    """This process's environment less broker settings a child must get from the stack alone."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith(("FUHUIYANG_MQTT_", "FUHUIYANG_DYNSEC_", GATEWAY_PASSWORD_ENV_PREFIX))}


def start_stack(database_url: str, mqtt_url: str | None, workdir: Path, schema: str = DEMO_SCHEMA) -> Stack:
    """Configured servers when they answer, else embedded ones; a fresh demo schema.

    Without a configured broker (`mqtt_url` None) the demo starts its own the way a programme
    runs one: TLS, no anonymous login, a login per gateway and process. Where mosquitto or its
    dynamic-security plugin is missing it falls back to an open embedded broker and says why.
    """
    owned: list[object] = []
    db_url, embedded_pg = pg_services.find_or_start(database_url, workdir / "pg")
    if embedded_pg is not None:
        owned.append(embedded_pg)
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    with connect(db_url, schema, autocommit=True) as conn:
        migrate(conn, schema)
    secure: SecureBroker | None = None
    note: str | None = None
    embedded_broker: object | None
    if mqtt_url is not None:
        broker, embedded_broker = mqtt_services.find_or_start(mqtt_url)
        note = "FUHUIYANG_MQTT_URL is set: the demo uses that broker with no gateway logins of its own"
    elif (reason := unavailable_reason()) is not None:
        note = f"{reason}: fell back to an open broker without TLS or per-gateway logins"
        broker, embedded_broker = mqtt_services.find_or_start(f"mqtt://127.0.0.1:{free_port()}")
    else:
        with connect(db_url, schema) as conn:
            secure = start_secure_broker(conn, workdir / "broker")
        broker, embedded_broker = secure.process.endpoint, secure
    if note:
        log.warning("demo broker: %s", note)
    if embedded_broker is not None:
        owned.append(embedded_broker)
    return Stack(db_url, schema, broker, workdir, free_port(), owned, secure=secure, broker_note=note)


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
