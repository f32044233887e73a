"""The alert worker: one cycle reads what is new, judges it in event time, sends what is due.

`AlertWorker.cycle(now)` is the whole job once; `fuhuiyang alerts run` calls it on a timer. The
process's composition root (fuhuiyang/processes/alerts.py) builds the stores, the engine and
the dispatcher it is handed.
Every step is idempotent (deterministic alert ids, one live alert per key, ON CONFLICT
outbox), so cycles may overlap a little in what they re-read, and a restart loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg

from cloud.alerts.breeds import ExpectedWeight
from cloud.alerts.lifecycle import AlertEngine, Effect
from cloud.alerts.model import (
    CameraHealth,
    DeadBirdSighting,
    FlockHistory,
    GatewaySnapshot,
    SensorHealth,
)
from cloud.alerts.rules.result import end_of_day
from cloud.alerts.rules.sensor_drift import gas_day
from cloud.alerts.service import AlertService
from cloud.alerts.source_pg import (
    FlockRow,
    growth_curve,
    load_environment,
    load_farms,
    load_flocks,
    load_gas_hours,
    load_history,
)
from cloud.alerts.store_pg import PgAlertStore
from cloud.alerts.thresholds import ThresholdBook
from cloud.notify.dispatch import Dispatcher
from cloud.notify.outbox import Outbox

log = logging.getLogger(__name__)

CLIMATE_HOURS = 3  # re-judge the last few hours: late uploads land in them
BACKLOG_SAMPLES = 6


@dataclass
class CycleReport:
    at: datetime
    flocks: int = 0
    climate_hours: int = 0
    gateways: int = 0
    dead_birds: int = 0
    effects: int = 0
    queued: int = 0
    sent: int = 0
    errors: list[str] = field(default_factory=list)


class AlertWorker:
    def __init__(
        self,
        conn: psycopg.Connection,
        alerts: PgAlertStore,
        engine: AlertEngine,
        dispatcher: Dispatcher,
        outbox: Outbox,
        thresholds: ThresholdBook | None = None,
        tz: str = "Asia/Shanghai",
        heartbeat_s: float = 300.0,
    ) -> None:
        self.conn = conn
        self.tz = tz
        self.heartbeat_s = heartbeat_s
        self.alerts = alerts
        self.engine = engine  # one engine for the process: storm counters span cycles
        self.thresholds = thresholds
        self._curves: dict[tuple[str, str], ExpectedWeight | None] = {}
        self._drift_judged: dict[str, date] = {}  # house -> local day last judged
        self.outbox = outbox
        self.dispatcher = dispatcher

    def cycle(self, now: datetime) -> CycleReport:
        self.alerts.snapshot()
        try:
            return self._cycle(now)
        finally:
            self.alerts.release()

    def _cycle(self, now: datetime) -> CycleReport:
        report = CycleReport(at=now)
        self._curves = {}  # farms' own growth curves, refitted each cycle (flocks end, data grows)
        service = AlertService(self.engine, load_farms(self.conn), self.thresholds)
        effects: list[Effect] = []
        for step in (self._flocks, self._gateways, self._dead_birds):
            try:
                effects += step(service, now, report)
            except psycopg.Error as exc:  # one bad query must not stop delivery of what is due
                self.conn.rollback()
                report.errors.append(f"{step.__name__}: {exc}")
                log.warning("alert cycle step %s failed: %s", step.__name__, exc)
        effects += service.regional(now) + self.engine.tick(now)
        report.effects = len(effects)
        report.queued = len(self.dispatcher.handle(effects, now))
        report.sent = self.outbox.deliver_due(now).sent
        return report

    def _flocks(self, service: AlertService, now: datetime, report: CycleReport) -> list[Effect]:
        zone = ZoneInfo(self.tz)
        today = now.astimezone(zone).date()
        effects: list[Effect] = []
        start = now - timedelta(hours=CLIMATE_HOURS + 8)
        for flock in load_flocks(self.conn, today - timedelta(days=2), today):
            history = _partial_today(load_history(self.conn, flock, today, self.tz), today)
            # Completed days (late entries), then today's deaths so far.
            curve = self._curve(flock)
            for day in (today - timedelta(days=2), today - timedelta(days=1), today):
                if history.get(day) is not None:
                    # Never in the future: today (and, early in the morning, yesterday's UTC
                    # end) is judged as of now, so escalation clocks start now.
                    effects += service.flock_day(history, day, curve, at=min(end_of_day(day), now))
            report.flocks += 1
            effects += self._nh3_drift(service, flock, today, now)
            samples = load_environment(self.conn, flock.house, start, now)
            age = (today - flock.placed_on).days
            record = history.get(today) or history.get(today - timedelta(days=1))
            weight = record.mean_weight_g if record is not None and record.mean_weight_g else None
            if weight is None and curve is not None:
                weight = curve(age)
            for sample in samples:
                if sample.at > now - timedelta(hours=CLIMATE_HOURS) and sample.at <= now:
                    effects += service.environment(
                        flock.farm, flock.house, samples, sample.at, flock.breed, weight, age
                    )
                    report.climate_hours += 1
        return effects

    def _nh3_drift(
        self, service: AlertService, flock: FlockRow, today: date, now: datetime
    ) -> list[Effect]:
        """Judge the completed days, once per house and day (the inputs only change daily)."""
        if self._drift_judged.get(flock.house) == today:
            return []
        th = service.book.resolve(None, flock.farm, flock.house).health
        first = today - timedelta(days=th.nh3_drift_baseline_days + th.nh3_drift_days)
        hours = load_gas_hours(self.conn, flock.house, first, today - timedelta(days=1), self.tz)
        days = [gas_day(day, pairs, th) for day, pairs in sorted(hours.items())]
        self._drift_judged[flock.house] = today
        return service.nh3_drift(flock.farm, flock.house, days, now)

    def _curve(self, flock: FlockRow) -> ExpectedWeight | None:
        key = (flock.farm, flock.breed)
        if key not in self._curves:
            self._curves[key] = growth_curve(self.conn, flock)
        return self._curves[key]

    def _dead_birds(
        self, service: AlertService, now: datetime, report: CycleReport
    ) -> list[Effect]:
        window = timedelta(hours=service.book.resolve().camera.dead_bird_window_hours)
        sightings = load_dead_bird_sightings(self.conn, now - window, now)
        report.dead_birds = len(sightings)
        return service.dead_birds(sightings, now)

    def _gateways(self, service: AlertService, now: datetime, report: CycleReport) -> list[Effect]:
        effects: list[Effect] = []
        for snapshot in load_gateway_snapshots(self.conn, now, self.heartbeat_s):
            effects += service.gateway(snapshot)
            report.gateways += 1
        return effects


def _partial_today(history: FlockHistory, today: date) -> FlockHistory:
    """Today is not over: its deaths count (they only grow), its water and feed do not yet."""
    record = history.get(today)
    if record is None:
        return history
    records = [r for r in history if r.day != today]
    records.append(replace(record, water_l=None, feed_kg=None, eggs=None))
    return FlockHistory(history.context, records)


def load_dead_bird_sightings(
    conn: psycopg.Connection, since: datetime, until: datetime
) -> list[DeadBirdSighting]:
    """Detector deaths in (since, until], less those a person has rejected."""
    rows = conn.execute(
        "SELECT id, farm_id, house_id, ts, evidence FROM mortality_records "
        "WHERE source = 'detector' AND ts > %s AND ts <= %s AND confirmed IS NOT FALSE "
        "AND farm_id IS NOT NULL AND house_id IS NOT NULL ORDER BY ts, id",
        (since, until),
    ).fetchall()
    if not conn.autocommit:
        conn.commit()
    return [DeadBirdSighting(rid, farm, house, ts, ev or {}) for rid, farm, house, ts, ev in rows]


def load_gateway_snapshots(
    conn: psycopg.Connection, now: datetime, heartbeat_s: float
) -> Iterable[GatewaySnapshot]:
    gateways = conn.execute(
        "SELECT id, farm_id, last_seen, status FROM gateways WHERE revoked_at IS NULL ORDER BY id"
    ).fetchall()
    sensors: dict[str, list[SensorHealth]] = {}
    for gw, sensor, house, state, faults in conn.execute(
        "SELECT gateway_id, id, house_id, state, faults FROM sensors"
    ).fetchall():
        sensors.setdefault(gw, []).append(SensorHealth(sensor, state, house, tuple(faults or ())))
    cameras: dict[str, list[CameraHealth]] = {}
    for gw, camera, house, state in conn.execute(
        "SELECT gateway_id, id, house_id, state FROM cameras"
    ).fetchall():
        cameras.setdefault(gw, []).append(CameraHealth(camera, state, house))
    depths: dict[str, list[tuple[datetime, int]]] = {}
    offsets: dict[str, float] = {}
    for gw, ts, depth, offset in conn.execute(
        """SELECT gateway_id, ts, outbox_depth, (payload->>'clock_offset_s')::double precision FROM (
               SELECT gateway_id, ts, outbox_depth, payload,
                      row_number() OVER (PARTITION BY gateway_id ORDER BY ts DESC) AS n
               FROM health WHERE ts > %s AND ts <= %s) h
           WHERE n <= %s ORDER BY gateway_id, ts""",
        (now - timedelta(days=1), now, BACKLOG_SAMPLES),
    ).fetchall():
        if depth is not None:
            depths.setdefault(gw, []).append((ts, int(depth)))
        if offset is not None:
            offsets[gw] = float(offset)  # rows are oldest first: the last one wins
    if not conn.autocommit:
        conn.commit()
    for gw, farm, last_seen, status in gateways:
        yield GatewaySnapshot(
            gateway=gw,
            farm=farm,
            at=now,
            last_seen=last_seen,
            last_will=status == "offline",
            heartbeat_s=heartbeat_s,
            sensors=tuple(sensors.get(gw, ())),
            cameras=tuple(cameras.get(gw, ())),
            outbox_depths=tuple(depths.get(gw, ())),
            clock_offset_s=offsets.get(gw),
        )


def utc_now() -> datetime:
    return datetime.now(UTC)
