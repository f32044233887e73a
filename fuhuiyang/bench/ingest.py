"""`fuhuiyang bench ingest`: gateways -> real broker -> ingest workers -> database, against baselines.

Three stages on one database server, each into a fresh schema with the same DDL:
raw COPY of the exact rows (the ceiling), a naive consumer doing one INSERT and
commit per message, and the real ingest workers. End-to-end time runs from the
first publish to the moment the last row is visible (committed).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import multiprocessing
import os
import queue
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import click
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from psycopg import sql

from cloud.db.connection import connect
from cloud.db.migrate import migrate
from cloud.ingest.metrics import IngestMetrics
from cloud.ingest.worker import IngestOptions, tune_gc
from cloud.settings import CloudSettings
from fuhuiyang.processes.ingest import build
from messaging.broker import BrokerAddress
from protocol import Kind, Reading, Telemetry, decode, encode, topic_for

log = logging.getLogger(__name__)

BASE_MS = 1_764_316_800_000
METRICS = ["temperature_c", "humidity_pct", "nh3_ppm", "co2_ppm", "light_lux", "water_l"]
COPY_SQL = ("COPY readings (ts, gateway_id, seq, idx, house_id, sensor_id, metric, value, quality) "
            "FROM STDIN (FORMAT binary)")
COPY_TYPES = ["timestamptz", "text", "int8", "int4", "text", "text", "text", "float8", "text"]


def make_messages(gateways: int, points: int, per_message: int) -> list[Telemetry]:
    """A fixed, reproducible volume: gateway g sends messages seq 0.. of `per_message` points."""
    messages: list[Telemetry] = []
    seq = [0] * gateways
    remaining, g = points, 0
    while remaining > 0:
        n = min(per_message, remaining)
        gw, s = f"bench-gw-{g:04d}", seq[g]
        t0 = BASE_MS + s * 60_000
        messages.append(Telemetry(
            gateway_id=gw, seq=s, sent_at=t0 + 59_000,
            points=[Reading(ts=t0 + i * 10, sensor=f"s{i % 12}", metric=METRICS[i % 6],
                            value=20.0 + (i * 7 % 100) / 10, house=f"h{g % 3}") for i in range(n)],
        ))
        seq[g] += 1
        remaining -= n
        g = (g + 1) % gateways
    return messages


def _rows(message: Telemetry) -> list[tuple[Any, ...]]:
    return [
        (dt.datetime.fromtimestamp(p.ts / 1000, dt.UTC), message.gateway_id, message.seq, i, p.house,
         p.sensor, p.metric.value, p.value, p.quality)
        for i, p in enumerate(message.points)
    ]


# --- stages ------------------------------------------------------------------------------
def copy_stage(url: str, schema: str, messages: list[Telemetry],
               rows_per_copy: int = 20_000) -> tuple[float, float]:
    """Raw binary COPY of the same rows (converted up front: only the database work is timed).

    Returns (seconds, CPU seconds of this client plus its backend)."""
    import psutil

    rows = [row for m in messages for row in _rows(m)]
    with connect(url, schema) as conn:
        backend = psutil.Process(conn.info.backend_pid)
        try:
            before = sum(backend.cpu_times()[:2])
        except (psutil.Error, OSError):
            before = float("nan")
        cpu_started, started = time.process_time(), time.perf_counter()
        for start in range(0, len(rows), rows_per_copy):
            with conn.cursor().copy(COPY_SQL) as copy:
                copy.set_types(COPY_TYPES)
                for row in rows[start:start + rows_per_copy]:
                    copy.write_row(row)
            conn.commit()
        elapsed, client_cpu = time.perf_counter() - started, time.process_time() - cpu_started
        try:
            backend_cpu = sum(backend.cpu_times()[:2]) - before
        except (psutil.Error, OSError):
            backend_cpu = float("nan")
        return elapsed, client_cpu + backend_cpu


def _naive_child(url: str, schema: str, mqtt_url: str, ready: Any, committed: Any, expected: int) -> None:
    """A consumer as one first writes it: decode, one INSERT and commit per message, auto-ack."""
    conn = connect(url, schema, autocommit=True)
    address = BrokerAddress.parse(mqtt_url)
    inbox: queue.Queue[bytes] = queue.Queue()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"naive-{uuid.uuid4().hex[:6]}",
                         protocol=mqtt.MQTTv5)
    client.on_message = lambda c, u, msg: inbox.put(bytes(msg.payload))
    client.on_subscribe = lambda *args: ready.set()
    client.on_connect = lambda c, *args: c.subscribe("fhy/v1/+/telemetry", qos=1)
    client.connect(address.host, address.port)
    client.loop_start()
    written = 0
    while written < expected:
        message = decode(Kind.TELEMETRY, inbox.get())
        values = sql.SQL(", ").join(sql.SQL("(%s, %s, %s, %s, %s, %s, %s, %s, %s)") for _ in message.points)
        params = [v for row in _rows(message) for v in row]
        conn.execute(sql.SQL("INSERT INTO readings (ts, gateway_id, seq, idx, house_id, sensor_id, metric, "
                             "value, quality) VALUES {} ON CONFLICT DO NOTHING").format(values), params)
        written += len(message.points)
        committed.value = written
    client.disconnect()
    client.loop_stop()


def _ingest_child(settings: dict[str, Any], options: IngestOptions, ready: Any, stop: Any,
                  committed: Any) -> None:
    logging.basicConfig(level=logging.WARNING)
    metrics = IngestMetrics()
    subscriber, service = build(CloudSettings(**settings), options, metrics)
    tune_gc()
    subscriber.start()
    if not subscriber.wait_subscribed(60):
        raise SystemExit("ingest worker could not subscribe")
    ready.set()
    halt = threading.Event()

    def relay() -> None:
        stop.wait()
        halt.set()

    def report() -> None:  # rows committed, for the parent's clock (no polling of the database)
        while not halt.is_set():
            committed.value = int(metrics.registry.get_sample_value(
                "fhy_ingest_rows_written_total", {"table": "readings"}) or 0)
            halt.wait(0.005)

    threading.Thread(target=relay, daemon=True).start()
    threading.Thread(target=report, daemon=True).start()
    service.run(halt)
    subscriber.stop()
    service.close()


def _publish_all(mqtt_url: str, payloads: list[tuple[str, bytes]], clients: int) -> None:
    address = BrokerAddress.parse(mqtt_url)
    pubs = []
    for i in range(clients):
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{i}-{uuid.uuid4().hex[:6]}",
                             protocol=mqtt.MQTTv5)
        client.max_inflight_messages_set(100)
        client.max_queued_messages_set(0)
        client.connect(address.host, address.port)
        client.loop_start()
        pubs.append(client)
    infos = [pubs[i % clients].publish(topic, payload, qos=1) for i, (topic, payload) in enumerate(payloads)]
    for info in infos:
        info.wait_for_publish(120)
    for client in pubs:
        client.disconnect()
        client.loop_stop()


def _wait_committed(counters: list[Any], target: int, stall_s: float = 60.0) -> float:
    """Wait until the children report `target` rows committed in all; returns the time seen.

    Shared-memory counters, not `count(*)` polls: polling the table every few ms costs the
    database a good part of a core and would slow what is measured."""
    last, last_change = -1, time.monotonic()
    while True:
        n = sum(c.value for c in counters)
        now = time.perf_counter()
        if n >= target:
            return now
        if n != last:
            last, last_change = n, time.monotonic()
        elif time.monotonic() - last_change > stall_s:
            raise RuntimeError(f"stalled at {n} of {target} rows")
        time.sleep(0.002)


def _timed_publish(mqtt_url: str, payloads: list[tuple[str, bytes]], clients: int, counters: list[Any],
                   expected: int) -> float:
    """Seconds from the first publish until `expected` more rows are committed."""
    base = sum(c.value for c in counters)
    started = time.perf_counter()
    publisher = threading.Thread(target=_publish_all, args=(mqtt_url, payloads, clients))
    publisher.start()
    seen_at = _wait_committed(counters, base + expected)
    publisher.join()
    return seen_at - started


def _cpu_seconds(url: str, procs: list[Any]) -> dict[str, float]:
    """CPU seconds so far of the worker processes and of their database backends (None if unreadable)."""
    import psutil

    def total(pids: list[int]) -> float:
        seconds = 0.0
        for pid in pids:
            try:
                times = psutil.Process(pid).cpu_times()
            except (psutil.Error, OSError):
                return float("nan")
            seconds += times.user + times.system
        return seconds

    with psycopg.connect(url, autocommit=True) as conn:
        backends = [row[0] for row in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'bench-ingest-%'")]
    return {"workers": total([p.pid for p in procs]), "postgres": total(backends)}


def _per_point(samples: list[float], points: int) -> float | None:
    usable = [s for s in samples if s == s]  # drop NaN (process not readable)
    return round(_median(usable) * 1e6 / points, 2) if usable else None


def _truncate(url: str, schema: str) -> None:
    # The ledger too: each repeat sends the same (gateway_id, seq), which must not be duplicates.
    with connect(url, schema, autocommit=True) as conn:
        conn.execute("TRUNCATE readings, message_ledger, gateway_receipts")


def _provision(url: str, schema: str, gateways: int) -> None:
    """One farm owns the bench's houses and gateways: ingest stores only a farm's own data."""
    with connect(url, schema, autocommit=True) as conn:
        conn.execute("INSERT INTO regions (id, level, name) VALUES ('bench', 'county', 'bench')")
        conn.execute("INSERT INTO farms (id, name, region_id) VALUES ('bench', 'bench', 'bench')")
        conn.execute("INSERT INTO houses (id, farm_id, name) SELECT 'h' || i, 'bench', 'h' || i "
                     "FROM generate_series(0, 2) AS i")
        conn.execute("INSERT INTO gateways (id, farm_id) SELECT unnest(%s::text[]), 'bench'",
                     ([f"bench-gw-{g:04d}" for g in range(gateways)],))


def _fresh_schema(url: str, tag: str) -> str:
    schema = f"bench_{tag}_{uuid.uuid4().hex[:8]}"
    with connect(url, schema, autocommit=True) as conn:
        migrate(conn, schema)
    return schema


def _drop(url: str, schema: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def run_bench(url: str, mqtt_url: str, gateways: int, points: int, per_message: int, workers: int,
              batch_messages: int, skip_naive: bool = False, repeat: int = 1) -> dict[str, Any]:
    """COPY and ingest alternate `repeat` times (the box is shared: medians, every sample kept)."""
    messages = make_messages(gateways, points, per_message)
    payloads = [(topic_for(m.gateway_id, Kind.TELEMETRY), encode(m)) for m in messages]
    clients = min(gateways, 8)
    ctx = multiprocessing.get_context("spawn")
    schemas = {tag: _fresh_schema(url, tag) for tag in ("copy", "naive", "ingest")}
    _provision(url, schemas["ingest"], gateways)
    frames_dir = Path(tempfile.mkdtemp(prefix="fhy-bench-frames-"))
    result: dict[str, Any] = {"points": points, "messages": len(messages), "gateways": gateways,
                              "points_per_message": per_message, "workers": workers, "repeat": repeat}
    stop = ctx.Event()
    procs: list[Any] = []
    try:
        if not skip_naive:
            ready, naive_rows = ctx.Event(), ctx.Value("q", 0)
            naive = ctx.Process(target=_naive_child,
                                args=(url, schemas["naive"], mqtt_url, ready, naive_rows, points))
            naive.start()
            ready.wait(60)
            naive_s = _timed_publish(mqtt_url, payloads, clients, [naive_rows], points)
            naive.join(30)
            result["insert_per_message_points_per_s"] = round(points / naive_s)

        settings = {"database_url": url, "database_schema": schemas["ingest"], "mqtt_url": mqtt_url,
                    "frames_dir": str(frames_dir)}
        events, counters = [], []
        for i in range(workers):
            options = IngestOptions(client_id=f"bench-ingest-{uuid.uuid4().hex[:6]}-{i}", group="bench",
                                    batch_messages=batch_messages, session_expiry_s=30)
            ready, rows = ctx.Event(), ctx.Value("q", 0)
            proc = ctx.Process(target=_ingest_child, args=(settings, options, ready, stop, rows))
            counters.append(rows)
            proc.start()
            procs.append(proc)
            events.append(ready)
        for event in events:
            event.wait(60)

        copy_rates, ingest_rates, lost, duplicates = [], [], 0, 0
        cpu_used: dict[str, list[float]] = {"workers": [], "postgres": [], "copy": []}
        for _ in range(repeat):
            _truncate(url, schemas["copy"])
            copy_s, copy_cpu_s = copy_stage(url, schemas["copy"], messages)
            copy_rates.append(points / copy_s)
            cpu_used["copy"].append(copy_cpu_s)
            _truncate(url, schemas["ingest"])
            cpu_before = _cpu_seconds(url, procs)
            ingest_rates.append(points / _timed_publish(mqtt_url, payloads, clients, counters, points))
            cpu_after = _cpu_seconds(url, procs)
            for key in cpu_after:
                cpu_used[key].append(cpu_after[key] - cpu_before.get(key, 0.0))
            with connect(url, schemas["ingest"], autocommit=True) as conn:
                total, distinct = conn.execute(
                    "SELECT count(*), count(DISTINCT (gateway_id, seq, idx)) FROM readings").fetchone()  # type: ignore[misc]
            lost += points - distinct
            duplicates += total - distinct
        result.update({
            "points_per_s": round(_median(ingest_rates)),
            "copy_points_per_s": round(_median(copy_rates)),
            "lost": lost,
            "duplicates": duplicates,
            "samples_points_per_s": [round(r) for r in ingest_rates],
            "samples_copy_points_per_s": [round(r) for r in copy_rates],
            # CPU per point does not depend on what else the shared machine is running.
            "worker_cpu_us_per_point": _per_point(cpu_used["workers"], points),
            "postgres_cpu_us_per_point": _per_point(cpu_used["postgres"], points),
            "copy_cpu_us_per_point": _per_point(cpu_used["copy"], points),
        })
        result["ratio_to_copy"] = round(result["points_per_s"] / result["copy_points_per_s"], 3)
        if "insert_per_message_points_per_s" in result:
            result["speedup_vs_insert_per_message"] = round(
                result["points_per_s"] / result["insert_per_message_points_per_s"], 2)
        return result
    finally:
        stop.set()
        for proc in procs:
            proc.join(30)
        for schema in schemas.values():
            _drop(url, schema)
        shutil.rmtree(frames_dir, ignore_errors=True)


@click.command()
@click.option("--gateways", default=20, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--points", default=200_000, show_default=True, type=click.IntRange(1))
@click.option("--points-per-message", default=500, show_default=True, type=click.IntRange(1, 2000))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 32),
              help="Ingest worker processes on one shared subscription.")
@click.option("--batch-messages", default=100, show_default=True, type=click.IntRange(1))
@click.option("--mqtt-url", default=None, help="Use this broker (default: a private mosquitto for the run).")
@click.option("--skip-naive", is_flag=True, help="Leave out the one-INSERT-per-message baseline.")
@click.option("--repeat", default=3, show_default=True, type=click.IntRange(1, 20),
              help="Alternate COPY and ingest this many times; figures are medians.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def ingest(gateways: int, points: int, points_per_message: int, workers: int, batch_messages: int,
           mqtt_url: str | None, skip_naive: bool, repeat: int, as_json: bool) -> None:
    """Telemetry through a real broker into the database, vs raw COPY and a naive consumer.

    Services as the demo finds them: the configured database when it answers, else an embedded
    PostgreSQL for the run; a private mosquitto, else the configured broker (the bench needs MQTT
    v5 shared subscriptions, which the embedded amqtt fallback does not speak)."""
    from fuhuiyang.services import postgres as pg_services
    from fuhuiyang.services.mqtt import MosquittoProcess
    from fuhuiyang.services.net import port_open

    settings = CloudSettings()
    broker = None
    workdir = Path(tempfile.mkdtemp(prefix="fhy-bench-ingest-"))
    if mqtt_url is None and (shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto")):
        broker = MosquittoProcess()
        broker.start()
        mqtt_url = broker.url
    elif mqtt_url is None:
        mqtt_url = settings.mqtt_url
    address = BrokerAddress.parse(mqtt_url)
    embedded = None
    try:
        if not port_open(address.host, address.port):
            raise click.ClickException(f"no MQTT broker answers at {address.host}:{address.port} and mosquitto is "
                                       "not installed: install mosquitto or set --mqtt-url (an MQTT v5 broker)")
        url, embedded = pg_services.find_or_start(settings.database_url, workdir / "pg")
        result = run_bench(url, mqtt_url, gateways, points, points_per_message, workers,
                           batch_messages, skip_naive, repeat)
        result["database"] = "timescaledb" if _is_timescale(url) else "postgresql"
        result["database_server"] = "configured" if embedded is None else "embedded"
        result["broker"] = "configured" if broker is None else "mosquitto (private)"
    finally:
        if broker is not None:
            broker.stop()
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    if as_json:
        click.echo(json.dumps(result))
    else:
        for key, value in result.items():
            click.echo(f"{key}: {value}")


def _is_timescale(url: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone() is not None
