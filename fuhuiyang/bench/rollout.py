"""`fuhuiyang bench rollout`: a staged over-the-air rollout to N simulated gateways, end to end.

Real parts: the broker, PostgreSQL, the ingest process, the API (bundle downloads with each
gateway's own login), the rollout controller, and on every simulated gateway the agent's update
code (edge.update, edge.release_dirs) on its own directory tree: signature and sha256 checks,
install beside the running version, the `current` link, the trial and the rollback. Simulated:
what a started release does (firmware_sim.ota): the good one reads its sensors, the broken one
never does, so only the gateway's own health check can bring it back.

Run: a broken release (stages: 5 pilots, a township, the county) must halt at stage 1 with
every pilot back on its previous version by itself; then a good release reaches every gateway,
including a share that is offline while the rollout runs and returns after its last stage opened.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import psycopg

import protocol
from edge.bundle_fetch import HttpBundleFetcher
from edge.release_dirs import BASE, ReleaseDirs, boot_check
from edge.update import Signals, Updater, load_public_key
from firmware_sim import ota
from fuhuiyang.bench.gateway_swarm import GatewaySwarm
from fuhuiyang.heartbeats import heartbeat

log = logging.getLogger(__name__)

BROKEN, GOOD = "1.1.0-broken", "1.2.0"
PILOTS = 5
MAX_DOWNLOADS_PER_ROUND = 4
ADVANCE_SHARE = 0.8  # a stage opens the next once 80 % of it is healthy: offline gateways catch up later
TOWNSHIPS = 4


@dataclass
class SimGateway:
    """One gateway: its disk, its agent process (an Updater per start) and its MQTT session."""

    gateway_id: str
    password: str
    dirs: ReleaseDirs
    updater: Updater | None = None
    started_at: float | None = None  # of the current agent process; None: not running
    restart_at: float | None = None
    powered: bool = True
    subscribed: bool = False
    heartbeat_mid: int | None = None
    heartbeat_acked: bool = False
    outbox: list[tuple[str, bytes]] = field(default_factory=list)  # reports waiting for the link
    seq: int = 1
    took: set[str] = field(default_factory=set)  # versions it ever switched to

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq


class Fleet:
    def __init__(self, swarm: GatewaySwarm, gateways: list[SimGateway], key_pem: bytes, api_url: str,
                 health_deadline_s: float) -> None:
        self.swarm = swarm
        self.gateways = {g.gateway_id: g for g in gateways}
        self.key = load_public_key(key_pem)
        self.api_url = api_url
        self.health_deadline_s = health_deadline_s
        swarm.on_message = self._on_message
        swarm.on_ack = self._on_ack

    # --- one agent process per start --------------------------------------------------
    def _start(self, gw: SimGateway, now: float) -> None:
        boot_check(gw.dirs, int(now * 1000))  # the service's pre-start check, by the installed agent

        def report(state: str, version: str, rollout: int, running: str, reason: str | None) -> None:
            message = protocol.ReleaseState(gateway_id=gw.gateway_id, seq=gw.next_seq(), ts=int(time.time() * 1000),
                                            rollout_id=rollout, version=version, state=state,
                                            running=running or None, reason=reason)
            gw.outbox.append((protocol.topic_for(gw.gateway_id, protocol.Kind.RELEASE_STATE),
                              protocol.encode(message)))

        def restart() -> None:
            gw.restart_at = time.monotonic() + 0.3

        fetch = HttpBundleFetcher(self.api_url, gw.gateway_id, gw.password, timeout_s=30)
        gw.updater = Updater(gw.gateway_id, gw.dirs, self.key, fetch, report, restart,
                             health_deadline_s=self.health_deadline_s)
        gw.updater.on_boot()
        running = gw.dirs.running()
        if running:
            gw.took.add(running)
        gw.started_at, gw.restart_at = now, None
        gw.subscribed = gw.heartbeat_acked = False
        gw.heartbeat_mid = None
        offline = protocol.GatewayStatus(gateway_id=gw.gateway_id, seq=0, ts=int(time.time() * 1000),
                                         state="offline", reason="connection lost")
        self.swarm.add(gw.gateway_id, protocol.topic_for(gw.gateway_id, "status"), protocol.encode(offline))

    def _stop(self, gw: SimGateway) -> None:
        self.swarm.remove(gw.gateway_id)
        gw.started_at = None
        gw.updater = None

    def step(self, now: float) -> None:
        # The simulated fleet shares one thread: a few downloads per round, so the sockets of the
        # others (their heartbeats' acknowledgements) are served in between, as on real gateways.
        downloads = MAX_DOWNLOADS_PER_ROUND
        for gw in self.gateways.values():
            if not gw.powered:
                if gw.started_at is not None:
                    self._stop(gw)
                continue
            if gw.started_at is None:
                self._start(gw, now)
                continue
            if gw.restart_at is not None:
                if time.monotonic() >= gw.restart_at:
                    self._stop(gw)
                    self._start(gw, now)
                continue
            connected = gw.gateway_id in self.swarm.connected
            if not connected:
                continue
            if not gw.subscribed:
                gw.subscribed = True
                self.swarm.subscribe(gw.gateway_id, protocol.topic_for(gw.gateway_id, protocol.Kind.RELEASE_DESIRED))
                gw.heartbeat_mid = self.swarm.publish(
                    gw.gateway_id, protocol.topic_for(gw.gateway_id, "health"),
                    heartbeat(gw.gateway_id, gw.next_seq(), int(time.time() * 1000),
                              software=gw.dirs.running() or "installed"))
            while gw.outbox:
                topic, payload = gw.outbox.pop(0)
                self.swarm.publish(gw.gateway_id, topic, payload)
            assert gw.updater is not None
            behaviour = ota.behaviour(gw.dirs.versions / gw.dirs.running() if gw.dirs.running() else None)
            assert gw.started_at is not None
            reads = behaviour.reads_sensors and now - gw.started_at >= behaviour.sensor_start_s
            gw.updater.check_health(Signals(connected, gw.heartbeat_acked, reads), int(now * 1000))
            if gw.updater.pending() and downloads > 0:
                downloads -= 1
                gw.updater.apply(int(now * 1000))
                if gw.dirs.running():
                    gw.took.add(gw.dirs.running())

    def stuck(self, target: str = GOOD, limit: int = 5) -> list[dict[str, Any]]:
        """The first gateways not on `target`, with what they hold: for a timeout's message."""
        out: list[dict[str, Any]] = []
        for gw in self.gateways.values():
            if gw.dirs.running() != target and len(out) < limit:
                desired = gw.updater.desired if gw.updater else None
                out.append({"gateway": gw.gateway_id, "running": gw.dirs.running(), "powered": gw.powered,
                            "connected": gw.gateway_id in self.swarm.connected, "subscribed": gw.subscribed,
                            "trial": gw.dirs.trial() is not None, "failed": gw.updater.failed() if gw.updater else None,
                            "desired": (desired.rollout_id, desired.release.version if desired.release else "")
                            if desired else None, "outbox": len(gw.outbox)})
        return out

    def _on_message(self, gateway_id: str, topic: str, payload: bytes) -> None:
        gw = self.gateways.get(gateway_id)
        if gw is not None and gw.updater is not None and payload:
            gw.updater.on_desired(payload)

    def _on_ack(self, gateway_id: str, mid: int) -> None:
        gw = self.gateways.get(gateway_id)
        if gw is not None and gw.heartbeat_mid == mid:
            gw.heartbeat_acked = True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _register(conn: psycopg.Connection, gateway_ids: list[str], passwords: dict[str, str]) -> dict[str, str]:
    """A county of TOWNSHIPS townships, one farm per gateway; returns gateway -> township."""
    from cloud.provisioning.passwords import hash_password

    conn.execute("INSERT INTO regions (id, level, name) VALUES ('bench-county', 'county', 'bench county')")
    township_of = {}
    for t in range(1, TOWNSHIPS + 1):
        conn.execute("INSERT INTO regions (id, parent_id, level, name) VALUES (%s, 'bench-county', 'township', %s)",
                     (f"bench-t{t}", f"township {t}"))
    for i, gw in enumerate(gateway_ids):
        township = f"bench-t{i % TOWNSHIPS + 1}"
        township_of[gw] = township
        farm = f"farm-{gw}"
        conn.execute("INSERT INTO farms (id, name, region_id) VALUES (%s, %s, %s)", (farm, farm, township))
        conn.execute("INSERT INTO gateways (id, farm_id, password_hash) VALUES (%s, %s, %s)",
                     (gw, farm, hash_password(passwords[gw])))
    conn.commit()
    return township_of


def _start_api(db_url: str, schema: str, broker_url: str, releases_dir: Path) -> tuple[Any, threading.Thread, str]:
    import uvicorn

    from cloud.releases.store import ReleaseStore
    from cloud.settings import CloudSettings
    from fuhuiyang.processes.api import build_app
    from messaging.publisher import RecordingPublisher

    settings = CloudSettings(database_url=db_url, database_schema=schema, mqtt_url=broker_url,
                             jwt_secret="bench-rollout-" + "x" * 32, releases_dir=releases_dir)
    app = build_app(settings, publisher=RecordingPublisher(), with_web=False)
    app.state.releases = ReleaseStore(releases_dir)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="bench-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the API did not start within 30 s")
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def run_rollout(db_url: str, schema: str, broker_host: str, broker_port: int, *, gateways: int = 200,
                offline_share: float = 0.08, health_deadline_s: float = 20.0, timeout_s: float = 600.0,
                workdir: Path | None = None) -> dict[str, Any]:
    """The whole run on an already migrated `schema`; returns the figures."""
    import secrets

    from cloud.db.connection import connect
    from cloud.releases import rollouts, signing
    from cloud.releases.store import ReleaseStore
    from messaging.broker import BrokerAddress
    from messaging.publisher import HeldMqttPublisher

    t0 = time.monotonic()
    workdir = workdir or Path(tempfile.mkdtemp(prefix="fhy-rollout-"))
    broker_url = f"mqtt://{broker_host}:{broker_port}"
    run = uuid.uuid4().hex[:6]  # fresh gateway ids: the broker may hold another run's retained messages
    ids = [f"ota{run}-{i:04d}" for i in range(gateways)]
    passwords = {gw: secrets.token_urlsafe(18) for gw in ids}
    with connect(db_url, schema) as conn:
        township_of = _register(conn, ids, passwords)
    pilots = [gw for gw in ids if township_of[gw] == "bench-t1"][:PILOTS]
    offline = ota.offline_plan(ids, offline_share, keep_online=set(pilots))

    # The programme's key, two signed releases, published to the cloud's release store.
    keys = workdir / "keys"
    signing.keygen(keys / "release.key", keys / "release.pub")
    store = ReleaseStore(workdir / "releases")
    key = signing.load_private_key(keys / "release.key")
    with connect(db_url, schema) as conn:
        for version, works in ((BROKEN, False), (GOOD, True)):
            bundle = ota.agent_bundle(version, reads_sensors=works)
            signed = signing.sign(signing.manifest_for(bundle, f"fuhuiyang-agent-{version}.tar.gz", version), key)
            rollouts.register_release(conn, store, signed, bundle)

    env = os.environ | {"FUHUIYANG_DATABASE_URL": db_url, "FUHUIYANG_DATABASE_SCHEMA": schema,
                        "FUHUIYANG_MQTT_URL": broker_url, "FUHUIYANG_FRAMES_DIR": str(workdir / "frames")}
    ingest = subprocess.Popen([sys.executable, "-m", "fuhuiyang", "cloud", "ingest", "--workers", "1",
                               "--client-id", f"ingest-{schema}", "--group", schema], env=env)
    server, api_thread, api_url = _start_api(db_url, schema, broker_url, workdir / "releases")
    publisher = HeldMqttPublisher(BrokerAddress.parse(broker_url), client_id=f"rollouts-{schema}")
    swarm = GatewaySwarm(broker_host, broker_port)
    fleet = Fleet(swarm, [SimGateway(gw, passwords[gw], ReleaseDirs(workdir / "gateways" / gw / "agent"))
                          for gw in ids], (keys / "release.pub").read_bytes(), api_url, health_deadline_s)
    timings: dict[str, float] = {}
    deadline = time.monotonic() + timeout_s

    def run_until(done: Callable[[psycopg.Connection], bool], what: str,
                  also: Callable[[float], None] | None = None) -> None:
        last_cycle = 0.0
        while time.monotonic() < deadline:
            swarm.pump(0.05)
            now = time.time()
            fleet.step(now)
            if also is not None:
                also(now)
            if time.monotonic() - last_cycle >= 0.5:
                last_cycle = time.monotonic()
                rollouts.cycle(conn, publisher)
                if done(conn):
                    return
        raise RuntimeError(f"timed out waiting for {what}: {fleet.stuck()}")

    def count(conn: psycopg.Connection, rollout: int, state: str, version: str) -> int:
        row = conn.execute("SELECT count(*) FROM rollout_targets WHERE rollout_id = %s AND state = %s "
                           "AND version = %s", (rollout, state, version)).fetchone()
        conn.commit()
        return int(row[0]) if row else 0

    try:
        with connect(db_url, schema) as conn:
            # Everyone up on the installed agent and ingest consuming: until ingest has subscribed,
            # what the gateways publish goes nowhere, so each heartbeats again until one is stored.
            last_probe = [0.0]

            def probe(now: float) -> None:
                if now - last_probe[0] >= 2.0:
                    last_probe[0] = now
                    for gw_id in set(swarm.connected) - _heartbeat_senders(conn):
                        swarm.publish(gw_id, protocol.topic_for(gw_id, "health"),
                                      heartbeat(gw_id, fleet.gateways[gw_id].next_seq(), int(now * 1000)))

            run_until(lambda c: len(swarm.connected) == gateways and _heartbeats(c) >= gateways, "gateways online",
                      probe)
            timings["fleet_online_s"] = round(time.monotonic() - t0, 1)
            for gw in offline:
                fleet.gateways[gw].powered = False

            stages = [rollouts.StageSpec("gateways", tuple(pilots)), rollouts.StageSpec("region", ("bench-t1",)),
                      rollouts.StageSpec("region", ("bench-county",))]
            started = time.monotonic()
            broken = rollouts.start(conn, publisher, BROKEN, stages, halt_share=0.2, advance_share=ADVANCE_SHARE)

            def broken_settled(c: psycopg.Connection) -> bool:
                state = rollouts.summary(c, broken)["state"]
                c.commit()
                took = [g for g in fleet.gateways.values() if BROKEN in g.took]
                back = all(g.dirs.running() == BASE and g.restart_at is None for g in took)
                return state != "running" and back and count(c, broken, "rolled_back", BROKEN) == len(took)

            run_until(broken_settled, "the broken rollout to halt")
            timings["broken_halted_s"] = round(time.monotonic() - started, 1)
            broken_summary = rollouts.summary(conn, broken)
            conn.commit()
            took_broken = [g for g in fleet.gateways.values() if BROKEN in g.took]
            rolled_back = [g for g in took_broken if g.dirs.running() != BROKEN]
            rolled_back_reported = count(conn, broken, "rolled_back", BROKEN)
            # The technician rolls the halted rollout back: its gateways are free for the next one.
            rollouts.roll_back(conn, publisher, broken)

            started = time.monotonic()
            good = rollouts.start(conn, publisher, GOOD, stages, halt_share=0.2, advance_share=ADVANCE_SHARE)
            returned_at: list[float] = []

            def bring_back(now: float) -> None:
                # The offline gateways return once the last stage has opened: they find the release
                # retained for them, not a message they missed.
                if returned_at:
                    return
                row = conn.execute("SELECT stage FROM rollouts WHERE id = %s", (good,)).fetchone()
                conn.commit()
                if row is not None and row[0] >= len(stages):
                    returned_at.append(time.monotonic())
                    for gw in offline:
                        fleet.gateways[gw].powered = True

            def good_everywhere(c: psycopg.Connection) -> bool:
                return bool(returned_at) and count(c, good, "healthy", GOOD) == gateways and all(
                    g.dirs.running() == GOOD for g in fleet.gateways.values())

            run_until(good_everywhere, "the good release to reach every gateway", bring_back)
            timings["good_reached_all_s"] = round(time.monotonic() - started, 1)
            if returned_at:
                timings["offline_caught_up_s"] = round(time.monotonic() - returned_at[0], 1)
            good_summary = rollouts.summary(conn, good)
            conn.commit()
            good_reached = sum(1 for g in fleet.gateways.values() if g.dirs.running() == GOOD)
            result = {
                "gateways": gateways,
                "stages": [s.name for s in stages],
                "took_broken": len(took_broken),
                "rolled_back": len(rolled_back),
                "rolled_back_reported": rolled_back_reported,
                "broken_stopped_at_stage": broken_summary["stage"],
                "broken_state": broken_summary["state"],
                "broken_halt_reason": broken_summary["reason"],
                "good_reached": good_reached,
                "good_healthy_reported": count(conn, good, "healthy", GOOD),
                "good_state": good_summary["state"],
                "offline_during_rollout": len(offline),
                "offline_reached": sum(1 for gw in offline if fleet.gateways[gw].dirs.running() == GOOD),
                "health_deadline_s": health_deadline_s,
                "baseline_unstaged_took_broken": gateways,  # one stage: every gateway takes it
                "timings_s": timings | {"total_s": round(time.monotonic() - t0, 1)},
                "broker": f"{broker_host}:{broker_port}",
            }
    finally:
        swarm.close()
        for gw in ids:  # leave no retained release behind on a shared broker
            with contextlib.suppress(Exception):
                publisher.publish(protocol.topic_for(gw, protocol.Kind.RELEASE_DESIRED), b"")
        publisher.close()
        server.should_exit = True
        api_thread.join(timeout=10)
        ingest.terminate()
        try:
            ingest.wait(timeout=20)
        except subprocess.TimeoutExpired:
            ingest.kill()
        if not os.environ.get("FUHUIYANG_BENCH_KEEP"):
            shutil.rmtree(workdir, ignore_errors=True)
    return result


def _heartbeat_senders(conn: psycopg.Connection) -> set[str]:
    senders = {r[0] for r in conn.execute("SELECT DISTINCT gateway_id FROM health")}
    conn.commit()
    return senders


def _heartbeats(conn: psycopg.Connection) -> int:
    row = conn.execute("SELECT count(DISTINCT gateway_id) FROM health").fetchone()
    conn.commit()
    return int(row[0]) if row else 0


@click.command()
@click.option("--gateways", default=200, show_default=True, type=click.IntRange(TOWNSHIPS * 2, 5000))
@click.option("--offline-share", default=0.08, show_default=True, type=click.FloatRange(0, 0.15),
              help="Share of gateways offline while the good release rolls out (a stage advances at 80% healthy).")
@click.option("--health-deadline", default=20.0, show_default=True, type=click.FloatRange(2, 600),
              help="Seconds a new version has to come back healthy.")
@click.option("--timeout", "timeout_s", default=900.0, show_default=True, type=click.FloatRange(30),
              help="Give up (with the gateways still behind) after this many seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def rollout(gateways: int, offline_share: float, health_deadline: float, timeout_s: float, as_json: bool) -> None:
    """A broken then a good release rolled out in stages to N simulated gateways (real broker,
    database, ingest and API)."""
    from cloud.db.connection import connect
    from cloud.db.migrate import migrate
    from cloud.settings import CloudSettings
    from fuhuiyang.services import mqtt as mqtt_services
    from fuhuiyang.services import postgres as pg_services

    settings = CloudSettings()
    workdir = Path(tempfile.mkdtemp(prefix="fhy-rollout-"))
    broker, owned_broker = mqtt_services.find_or_start(settings.mqtt_url)
    db_url, owned_pg = pg_services.find_or_start(settings.database_url, workdir / "pg")
    schema = f"bench_rollout_{uuid.uuid4().hex[:8]}"
    try:
        with connect(db_url, schema, autocommit=True) as conn:
            migrate(conn, schema)
        result = run_rollout(db_url, schema, broker.host, broker.port, gateways=gateways,
                             offline_share=offline_share, health_deadline_s=health_deadline, workdir=workdir,
                             timeout_s=timeout_s)
        result["broker"] = broker.kind
    finally:
        if not os.environ.get("FUHUIYANG_BENCH_KEEP"):
            with connect(db_url, "public", autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        if owned_broker is not None:
            owned_broker.stop()
        if owned_pg is not None:
            owned_pg.stop()
    click.echo(json.dumps(result, indent=None if as_json else 2))
