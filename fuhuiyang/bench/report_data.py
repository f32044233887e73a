"""Synthetic regional history for the report benchmark and the demo: farms in a region tree,
successive flocks, farmer records, gateway weight summaries, recent readings and weighings,
alerts and SMS. Deterministic for a seed; written with unnest batches (every engine takes them)."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from farming.growth import standard_curve

FARM_TZ = ZoneInfo("Asia/Shanghai")
BATCH = 20_000
FLOCK_DAYS, GAP_DAYS = 56, 7
ALERT_TYPES = [("mortality", "critical"), ("water_drop", "warning"), ("heat_stress", "warning"),
               ("nh3_high", "warning"), ("weight_gain", "info"), ("gateway_offline", "warning")]


@dataclass(frozen=True)
class Shape:
    farms: int
    days: int
    end: date  # exclusive
    readings_days: int = 14  # raw readings and weighings are loaded for the last N days only
    seed: int = 7
    batch: int = BATCH  # rows per INSERT; PGlite (WASM) needs small ones


def _batches(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def insert(conn: psycopg.Connection, table: str, columns: Sequence[str], types: Sequence[str],
           rows: Iterator[tuple[Any, ...]], batch_size: int = BATCH) -> int:
    """INSERT ... SELECT FROM unnest(...) in batches; returns rows written."""
    placeholders = ", ".join(f"%s::{t}[]" for t in types)
    query = f"INSERT INTO {table} ({', '.join(columns)}) SELECT * FROM unnest({placeholders})"
    n = 0
    for batch in _batches(rows, batch_size):
        conn.execute(query, [list(col) for col in zip(*batch, strict=True)])
        n += len(batch)
    return n


def regions(farms: int) -> list[tuple[str, str | None, str, str, str]]:
    """One province, a county per 200 farms, 5 townships each, 8 villages each."""
    out: list[tuple[str, str | None, str, str, str]] = [("prov", None, "province", "样例省", "Sample Province")]
    for c in range(max(1, math.ceil(farms / 200))):
        county = f"c{c:02d}"
        out.append((county, "prov", "county", f"第{c + 1}县", f"County {c + 1}"))
        for t in range(5):
            town = f"{county}t{t}"
            out.append((town, county, "township", f"{c + 1}县{t + 1}镇", f"Township {c + 1}-{t + 1}"))
            for v in range(8):
                out.append((f"{town}v{v}", town, "village", f"{c + 1}-{t + 1}-{v + 1}村", f"Village {c + 1}-{t + 1}-{v + 1}"))
    return out


def load(conn: psycopg.Connection, shape: Shape) -> dict[str, int]:
    """Write the history; returns rows per table."""
    rng = random.Random(shape.seed)
    counts: dict[str, int] = {}
    region_rows = regions(shape.farms)
    villages = [r[0] for r in region_rows if r[2] == "village"]
    counts["regions"] = insert(conn, "regions", ("id", "parent_id", "level", "name", "name_en"),
                               ("text",) * 5, iter(region_rows), shape.batch)
    farm_ids = [f"farm{i:05d}" for i in range(shape.farms)]
    counts["farms"] = insert(conn, "farms", ("id", "name", "region_id", "kind"), ("text",) * 4,
                             ((f, f"农场{i}", villages[i % len(villages)], "smallhouse") for i, f in enumerate(farm_ids)), shape.batch)
    counts["houses"] = insert(conn, "houses", ("id", "farm_id", "name", "capacity"), ("text", "text", "text", "int"),
                              ((f"{f}-h1", f, "一号鸡舍", 3000) for f in farm_ids), shape.batch)
    start = shape.end - timedelta(days=shape.days)
    flocks: list[tuple[str, str, str, date, int, date | None]] = []
    for i, f in enumerate(farm_ids):
        placed = start - timedelta(days=rng.randrange(FLOCK_DAYS))
        n = 0
        while placed < shape.end:
            ended = placed + timedelta(days=FLOCK_DAYS)
            flocks.append((f"{f}-fl{n}", f"{f}-h1", "ross308" if i % 2 else "cobb500", placed,
                           rng.randrange(200, 2000), ended if ended < shape.end else None))
            placed, n = ended + timedelta(days=GAP_DAYS), n + 1
    records: list[tuple[str, date, int, int, float, float]] = []
    summaries: list[tuple[str, str, date, str, int, float, float, float, float, float, float, int]] = []
    birds_now: dict[str, int] = {}
    no_summary = {f for i, f in enumerate(farm_ids) if i % 10 == 9}  # older gateways: per-bird weights only
    for flock_id, house, breed, placed_on, birds, ended_on in flocks:
        curve = standard_curve(breed)
        assert curve is not None
        alive = birds
        last = min(ended_on or shape.end, shape.end)
        day = max(placed_on, start)
        sick = rng.random() < 0.05
        while day < last:
            age = (day - placed_on).days
            rate = 0.0008 * (6 if sick and 20 <= age < 27 else 1) * (2.5 if age < 7 else 1)
            deaths = _poisson(rng, alive * rate)
            alive = max(0, alive - deaths)
            records.append((flock_id, day, deaths, 0, round(alive * 0.00012 * (age + 5), 2),
                            round(alive * 0.00022 * (age + 5), 2)))
            farm = house[:-3]
            if farm not in no_summary:
                expected = curve(age)
                mean = expected * rng.uniform(0.85, 1.05)
                summaries.append((f"gw-{farm}", "scale1", day, house, rng.randrange(20, 120), round(mean, 1),
                                  round(mean, 1), round(mean * 0.09, 1), 9.0, round(rng.uniform(70, 92), 1),
                                  round(expected, 1), 1))
            day += timedelta(days=1)
        birds_now[flock_id] = alive
    counts["flocks"] = insert(conn, "flocks", ("id", "house_id", "breed", "placed_on", "birds_placed", "birds_now",
                                               "ended_on"), ("text", "text", "text", "date", "int", "int", "date"),
                              ((fid, h, b, p, n, birds_now.get(fid, n), e) for fid, h, b, p, n, e in flocks), shape.batch)
    counts["daily_records"] = insert(conn, "daily_records", ("flock_id", "day", "deaths", "culls", "feed_kg", "water_l"),
                                     ("text", "date", "int", "int", "real", "real"), iter(records), shape.batch)
    now = datetime.combine(shape.end, time(), FARM_TZ)
    counts["gateways"] = insert(
        conn, "gateways", ("id", "farm_id", "software", "status", "last_seen"), ("text", "text", "text", "text", "timestamptz"),
        ((f"gw-{f}", f, "edge 0.1.0", "online" if rng.random() < 0.9 else "offline",
          now - timedelta(minutes=rng.randrange(1, 600))) for f in farm_ids), shape.batch)
    counts["weighing_summaries"] = insert(
        conn, "weighing_summaries", ("gateway_id", "scale_id", "day", "house_id", "count", "mean_g", "median_g", "sd_g",
                                     "cv_pct", "uniformity_pct", "expected_g", "seq"),
        ("text", "text", "date", "text", "int", "real", "real", "real", "real", "real", "real", "bigint"), iter(summaries), shape.batch)
    counts.update(_recent_raw(conn, shape, rng, farm_ids, no_summary, now))
    counts.update(_alerts(conn, shape, rng, farm_ids, villages, now))
    conn.commit()
    return counts


def _recent_raw(conn: psycopg.Connection, shape: Shape, rng: random.Random, farm_ids: list[str],
                no_summary: set[str], now: datetime) -> dict[str, int]:
    hours = shape.readings_days * 24
    first = now - timedelta(hours=hours)

    bases = {f: rng.uniform(22, 27) for f in farm_ids}

    def readings(hour_range: range) -> Iterator[tuple[Any, ...]]:
        for h in hour_range:  # time-major, so each statement stays within one week's chunk
            ts = first + timedelta(hours=h)
            heat = 6 * math.sin((ts.astimezone(FARM_TZ).hour - 9) / 24 * 2 * math.pi)
            for f in farm_ids:
                yield (ts, f"gw-{f}", h, 0, f"{f}-h1", "env1", "temperature_c", round(bases[f] + heat, 2))
                yield (ts, f"gw-{f}", h, 1, f"{f}-h1", "nh3", "nh3_ppm", round(rng.uniform(5, 24), 1))

    # Split at week boundaries (TimescaleDB's 7-day chunks are aligned to the epoch): one
    # statement never spans two chunks, which the PGlite build does not survive.
    week_s = 7 * 86400
    cuts = [0]
    for h in range(1, hours):
        if int((first + timedelta(hours=h)).timestamp()) // week_s != int((first + timedelta(hours=h - 1)).timestamp()) // week_s:
            cuts.append(h)
    cuts.append(hours)
    written = 0
    for a, b in zip(cuts, cuts[1:], strict=False):
        written += insert(conn, "readings", ("ts", "gateway_id", "seq", "idx", "house_id", "sensor_id", "metric", "value"),
                          ("timestamptz", "text", "bigint", "int", "text", "text", "text", "float8"),
                          readings(range(a, b)), shape.batch)
        conn.commit()

    def weighings() -> Iterator[tuple[Any, ...]]:
        for f in sorted(no_summary):
            for h in range(0, hours, 2):
                ts = first + timedelta(hours=h)
                for k in range(3):
                    yield (ts + timedelta(minutes=k), f"gw-{f}", 10_000 + h, k, f"{f}-h1", "scale1",
                           round(rng.uniform(1500, 2300), 1))

    return {
        "readings": written,
        "weighings": insert(conn, "weighings", ("ts", "gateway_id", "seq", "idx", "house_id", "scale_id", "grams"),
                            ("timestamptz", "text", "bigint", "int", "text", "text", "real"), weighings(), shape.batch),
    }


def _alerts(conn: psycopg.Connection, shape: Shape, rng: random.Random, farm_ids: list[str], villages: list[str],
            now: datetime) -> dict[str, int]:
    first = now - timedelta(days=shape.days)
    rows = []
    for i, f in enumerate(farm_ids):
        for k in range(max(1, shape.days // 14)):
            raised = first + timedelta(seconds=rng.randrange(shape.days * 86400))
            kind, severity = ALERT_TYPES[rng.randrange(len(ALERT_TYPES))]
            acked = raised + timedelta(minutes=rng.expovariate(1 / 45)) if rng.random() < 0.8 else None
            rows.append((kind, severity, "resolved" if acked else "open", f"{f}/{kind}/{k}", f, f"{f}-h1",
                         villages[i % len(villages)], raised, raised, acked, raised + timedelta(hours=6) if acked else None))
    n = insert(conn, "alerts", ("type", "severity", "state", "dedup_key", "farm_id", "house_id", "region_id",
                                "event_start", "raised_at", "acknowledged_at", "resolved_at"),
               ("text", "text", "text", "text", "text", "text", "text", "timestamptz", "timestamptz", "timestamptz",
                "timestamptz"), iter(rows), shape.batch)
    sms = conn.execute(
        "INSERT INTO notifications (alert_id, channel, recipient, template, body, segments, cost, state, "
        "idempotency_key, created_at, sent_at) "
        "SELECT id, 'sms', '+8613800000000', type, type, 1 + (id % 2), 0.045 * (1 + (id % 2)), 'delivered', "
        "'bench-' || id, raised_at, raised_at FROM alerts")
    return {"alerts": n, "notifications": sms.rowcount}


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    threshold, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= threshold:
            return k
        k += 1


def utc(d: date) -> datetime:
    return datetime.combine(d, time(), UTC)
