"""`fuhuiyang bench fleet`: N simulated gateways at farm rates through the real broker into ingest.

Each gateway has its own MQTT session (client id, retained status, last will) and sends
what a farm gateway sends: telemetry every minute (its simulated sensors), a health
heartbeat every five minutes. Publishes are spread over the minute as real gateways'
clocks are. The database is polled for every message's identity, so lag is measured per
message (commit seen minus event time, to within the poll interval) and nothing lost
can hide.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import click
import psutil
import psycopg

import protocol
from fuhuiyang.bench.gateway_swarm import GatewaySwarm
from fuhuiyang.demo.seed import cloud_house_id
from fuhuiyang.heartbeats import heartbeat, stored
from fuhuiyang.services import mqtt as mqtt_services
from fuhuiyang.services import postgres as pg_services

if TYPE_CHECKING:
    from firmware_sim.fleet import Fleet

log = logging.getLogger(__name__)

POLL_S = 0.5
SOFTWARE = "fleet-bench"
HEALTH_EVERY_MIN = 5


@dataclass
class Ledger:
    """Every message published, and when the database was first seen holding it."""

    published: dict[tuple[str, int], int] = field(default_factory=dict)  # -> event time (ms)
    kinds: dict[tuple[str, int], str] = field(default_factory=dict)
    seen_ms: dict[tuple[str, int], int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, key: tuple[str, int], kind: str, ts_ms: int) -> None:
        with self.lock:
            self.published[key] = ts_ms
            self.kinds[key] = kind

    def pending_since(self) -> int | None:
        with self.lock:
            waiting = [ts for key, ts in self.published.items() if key not in self.seen_ms]
        return min(waiting) if waiting else None

    def missing(self) -> int:
        with self.lock:
            return sum(1 for key in self.published if key not in self.seen_ms)


def _poll(conn_factory: Callable[[], psycopg.Connection], ledger: Ledger, stop: threading.Event) -> None:
    from datetime import UTC, datetime

    with conn_factory() as conn:
        conn.autocommit = True
        while not stop.wait(POLL_S):
            since = ledger.pending_since()
            if since is None:
                continue
            start = datetime.fromtimestamp(since / 1000 - 1, tz=UTC)
            rows = conn.execute(
                "SELECT gateway_id, seq FROM readings WHERE idx = 0 AND ts >= %s "
                "UNION ALL SELECT gateway_id, seq FROM health WHERE ts >= %s",
                (start, start),
            ).fetchall()
            now_ms = int(time.time() * 1000)
            with ledger.lock:
                for gateway_id, seq in rows:
                    ledger.seen_ms.setdefault((gateway_id, seq), now_ms)


class ProcessMeter:
    """CPU (% of one core, mean) and peak RSS of a process tree, sampled each second."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.cpu_samples: list[float] = []
        self.peak_rss_mb = 0.0
        self._procs: dict[int, psutil.Process] = {}

    def sample(self) -> None:
        try:
            tree = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return
        cpu, rss = 0.0, 0.0
        for proc in tree:
            tracked = self._procs.setdefault(proc.pid, proc)
            try:
                cpu += tracked.cpu_percent(None)
                rss += tracked.memory_info().rss / 2**20
            except psutil.NoSuchProcess:
                continue
        self.cpu_samples.append(cpu)
        self.peak_rss_mb = max(self.peak_rss_mb, rss)

    @property
    def cpu_percent(self) -> float:
        return statistics.fmean(self.cpu_samples[1:]) if len(self.cpu_samples) > 1 else 0.0


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _register(conn: psycopg.Connection, sim: Fleet) -> None:
    """Provision the fleet's farms, houses and gateways: ingest stores only what a gateway sends
    about its own farm's houses."""
    conn.execute("INSERT INTO regions (id, level, name) VALUES ('bench', 'county', 'bench')")
    for gw in sim.gateways:
        farm = gw.farm.farm
        conn.execute("INSERT INTO farms (id, name, region_id) VALUES (%s, %s, 'bench')", (farm.id, farm.id))
        conn.execute("INSERT INTO gateways (id, farm_id) VALUES (%s, %s)", (gw.gateway_id, farm.id))
        for house in gw.farm.houses:
            house_id = cloud_house_id(farm.id, house.model.id)
            conn.execute("INSERT INTO houses (id, farm_id, name) VALUES (%s, %s, %s)", (house_id, farm.id, house_id))
    conn.commit()


def _wait_for_ingest(swarm: GatewaySwarm, gateway_id: str, seqs: dict[str, int],
                     conn_factory: Callable[[], psycopg.Connection], timeout_s: float = 120) -> None:
    """Until ingest is subscribed, messages would go nowhere: probe with heartbeats until one lands."""
    deadline = time.monotonic() + timeout_s
    with conn_factory() as conn:
        conn.autocommit = True
        while time.monotonic() < deadline:
            seqs[gateway_id] += 1
            swarm.publish(gateway_id, protocol.topic_for(gateway_id, "health"),
                          heartbeat(gateway_id, seqs[gateway_id], int(time.time() * 1000), software=SOFTWARE))
            swarm.pump(0.5)
            if stored(conn, gateway_id, seqs[gateway_id]):
                return
    raise RuntimeError("ingest did not start consuming within two minutes")


@click.command()
@click.option("--gateways", default=2000, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--minutes", default=5.0, show_default=True, type=click.FloatRange(0.5, 120))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 16), help="Ingest workers.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def fleet(gateways: int, minutes: float, workers: int, as_json: bool) -> None:
    """Broker, ingest and N simulated gateways on this machine at farm rates; lag and loss."""
    from cloud.db.connection import connect
    from cloud.db.migrate import migrate
    from cloud.settings import CloudSettings
    from firmware_sim.fleet import Fleet, telemetry
    from firmware_sim.scenario import load_scenario

    settings = CloudSettings()
    workdir = Path(tempfile.mkdtemp(prefix="fhy-fleet-"))
    broker, owned_broker = mqtt_services.find_or_start(settings.mqtt_url)
    db_url, owned_pg = pg_services.find_or_start(settings.database_url, workdir / "pg")
    schema = f"bench_fleet_{uuid.uuid4().hex[:8]}"
    with connect(db_url, schema, autocommit=True) as conn:
        migrate(conn, schema)
    env = os.environ | {"FUHUIYANG_DATABASE_URL": db_url, "FUHUIYANG_DATABASE_SCHEMA": schema,
                        "FUHUIYANG_MQTT_URL": broker.url, "FUHUIYANG_FRAMES_DIR": str(workdir / "frames")}
    ingest = subprocess.Popen(
        [sys.executable, "-m", "fuhuiyang", "cloud", "ingest", "--workers", str(workers),
         "--client-id", f"ingest-{schema}", "--group", schema], env=env,
    )
    meter = ProcessMeter(ingest.pid)
    ledger = Ledger()
    stop = threading.Event()
    swarm: GatewaySwarm | None = None
    try:
        scenario = load_scenario("fleet")
        assert scenario.generate is not None
        scenario = scenario.model_copy(update={"generate": scenario.generate.model_copy(update={"gateways": gateways})})
        sim = Fleet(scenario)
        sim.tick(sim.world.start_ms)  # warm the world up before the clock starts
        farm_of = {gw.gateway_id: gw.farm.farm.id for gw in sim.gateways}
        with connect(db_url, schema) as conn:
            _register(conn, sim)
        swarm = GatewaySwarm(broker.host, broker.port)
        seqs: dict[str, int] = {}
        for gw in sim.gateways:
            offline = protocol.GatewayStatus(gateway_id=gw.gateway_id, seq=0, ts=int(time.time() * 1000),
                                             state="offline", reason="connection lost")
            swarm.add(gw.gateway_id, protocol.topic_for(gw.gateway_id, "status"), protocol.encode(offline))
            swarm.pump(0)
        deadline = time.monotonic() + 120
        while len(swarm.connected) < gateways and time.monotonic() < deadline:
            swarm.pump(0.2)
        for gw in sim.gateways:
            seqs[gw.gateway_id] = 1
            online = protocol.GatewayStatus(gateway_id=gw.gateway_id, seq=1, ts=int(time.time() * 1000),
                                            state="online", software="fleet-bench")
            swarm.publish(gw.gateway_id, protocol.topic_for(gw.gateway_id, "status"),
                          protocol.encode(online), retain=True)
        _wait_for_ingest(swarm, sim.gateways[0].gateway_id, seqs, lambda: connect(db_url, schema))
        poller = threading.Thread(target=_poll, args=(lambda: connect(db_url, schema), ledger, stop), daemon=True)
        poller.start()

        started = time.time()
        total_minutes = int(minutes) if minutes == int(minutes) else int(minutes) + 1
        end = started + minutes * 60
        published = gateways  # status messages
        points_published = 0
        next_meter = time.monotonic()
        for minute in range(total_minutes):
            tick = sim.tick(sim.world.start_ms + (minute + 1) * 60_000)
            minute_start = started + minute * 60
            for i, gw_tick in enumerate(tick.gateways):
                due = minute_start + 60 * i / gateways
                if due >= end:
                    break
                while time.time() < due:
                    swarm.pump(min(0.02, max(0.0, due - time.time())))
                    if time.monotonic() >= next_meter:
                        meter.sample()
                        next_meter += 1.0
                gw_id = gw_tick.gateway_id
                now_ms = int(time.time() * 1000)
                seqs[gw_id] += 1
                message = telemetry(gw_tick, seqs[gw_id], now_ms)
                if message is not None:
                    farm_id = farm_of[gw_id]
                    points = [p.model_copy(update={"ts": now_ms, "house": p.house and cloud_house_id(farm_id, p.house)})
                              for p in message.points]
                    message = message.model_copy(update={"points": points})
                    swarm.publish(gw_id, protocol.topic_for(gw_id, "telemetry"), protocol.encode(message))
                    ledger.add((gw_id, seqs[gw_id]), "telemetry", now_ms)
                    published += 1
                    points_published += len(points)
                if minute % HEALTH_EVERY_MIN == 0:
                    seqs[gw_id] += 1
                    # now_ms is truncated: the first heartbeat, sent at once, could be a hair before start
                    uptime_s = max(0.0, now_ms / 1000 - started)
                    swarm.publish(gw_id, protocol.topic_for(gw_id, "health"),
                                  heartbeat(gw_id, seqs[gw_id], now_ms, uptime_s, SOFTWARE))
                    ledger.add((gw_id, seqs[gw_id]), "health", now_ms)
                    published += 1
        drain_deadline = time.monotonic() + 60
        while ledger.missing() and time.monotonic() < drain_deadline:
            swarm.pump(0.2)
            meter.sample()
        stop.set()
        poller.join(timeout=5)
        lags = [(ledger.seen_ms[k] - ts) / 1000 for k, ts in ledger.published.items() if k in ledger.seen_ms]
        result = {
            "gateways": gateways,
            "minutes": minutes,
            "ingest_workers": workers,
            "messages": published,
            "messages_tracked": len(ledger.published),
            "readings_published": points_published,
            "lag_p50_s": _percentile(lags, 0.5),
            "lag_p99_s": _percentile(lags, 0.99),
            "lag_max_s": max(lags) if lags else None,
            "lag_resolution_s": POLL_S,
            "lost": ledger.missing(),
            "acked_by_broker": swarm.acked,
            "cpu_percent": round(meter.cpu_percent, 1),
            "rss_mb": round(meter.peak_rss_mb, 1),
            "broker": broker.kind,
        }
    finally:
        stop.set()
        if swarm is not None:
            swarm.close()
        ingest.terminate()
        try:
            ingest.wait(timeout=20)
        except subprocess.TimeoutExpired:
            ingest.kill()
        if not os.environ.get("FUHUIYANG_BENCH_KEEP"):
            with connect(db_url, "public", autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        if owned_broker is not None:
            owned_broker.stop()
        if owned_pg is not None:
            owned_pg.stop()
    click.echo(json.dumps(result, indent=None if as_json else 2))
