"""The alert worker: one cycle reads what is new, judges it in event time, sends what is due.

`AlertWorker.cycle(now)` is the whole job once; `fuhuiyang alerts run` calls it on a timer. The
process's composition root (fuhuiyang/processes/alerts.py) builds the stores, the engine and
the dispatcher it is handed.
Every step is idempotent (deterministic alert ids, one live alert per key, ON CONFLICT
outbox), so cycles may overlap a little in what they re-read, and a restart loses nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from math import isfinite
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import psycopg

from cloud import camera_trust
from cloud.alerts.failures import FailureLog, StepFailure, reason
from cloud.alerts.gateway_events import GatewayEvent
from cloud.alerts.gateway_events_pg import load_gateway_alerts, mark_judged
from cloud.alerts.lifecycle import AlertEngine, Effect, scope_of
from cloud.alerts.metrics import AlertMetrics
from cloud.alerts.model import (
    CameraHealth,
    DeadBirdSighting,
    FlockHistory,
    GatewaySnapshot,
    SensorHealth,
)
from cloud.alerts.rules.environment import usual_peak_thi
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
    load_peak_thi,
)
from cloud.alerts.store import Alert
from cloud.alerts.store_pg import PgAlertStore
from cloud.alerts.thresholds import ThresholdBook
from cloud.db.transactions import end_read, unit_of_work
from cloud.notify.dispatch import Dispatcher
from cloud.notify.outbox import Outbox
from farming.growth import ExpectedWeight

log = logging.getLogger(__name__)

CLIMATE_HOURS = 3  # re-judge the last few hours: late uploads land in them
BACKLOG_SAMPLES = 6
_T = TypeVar("_T")


@dataclass
class CycleReport:
    at: datetime
    flocks: int = 0
    climate_hours: int = 0
    gateways: int = 0
    dead_birds: int = 0
    gateway_events: int = 0
    effects: int = 0
    queued: int = 0
    sent: int = 0
    errors: list[str] = field(default_factory=list)  # one line per failure, for people
    failures: list[StepFailure] = field(default_factory=list)

    def fail(self, failure: StepFailure) -> None:
        self.failures.append(failure)
        self.errors.append(f"{failure.step} {failure.farm or '-'}: {failure.reason}")


@dataclass
class _Tally:
    """What one unit of work counted: added to the report only if the unit commits."""

    flocks: int = 0
    climate_hours: int = 0
    gateways: int = 0
    dead_birds: int = 0
    gateway_events: int = 0
    drift_judged: dict[str, date] = field(default_factory=dict)


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
        metrics: AlertMetrics | None = None,
    ) -> None:
        self.conn = conn
        self.tz = tz
        self.heartbeat_s = heartbeat_s
        self.alerts = alerts
        self.engine = engine  # one engine for the process: storm counters span cycles
        self.thresholds = thresholds
        self.metrics = metrics or AlertMetrics()
        self.failures = FailureLog(self.metrics)
        self._curves: dict[tuple[str, str], ExpectedWeight | None] = {}
        self._drift_judged: dict[str, date] = {}  # house -> local day last judged
        # house -> (local day, usual peak THI of the days before it): read once a day
        self._usual_peak: dict[str, tuple[date, float | None]] = {}
        self.outbox = outbox
        self.dispatcher = dispatcher

    def cycle(self, now: datetime) -> CycleReport:
        self.alerts.snapshot()
        self.failures.start_cycle()
        try:
            report = self._cycle(now)
        finally:
            self.alerts.release()
        self.failures.end_cycle()  # only a whole cycle tells which farms work again
        return report

    def _cycle(self, now: datetime) -> CycleReport:
        """Every farm's judgement and its SMS in a unit of its own: one farm's bad data fails
        that farm's unit (rolled back, reported, retried next cycle), never the others'."""
        report = CycleReport(at=now)
        self._curves = {}  # farms' own growth curves, refitted each cycle (flocks end, data grows)
        service = AlertService(self.engine, load_farms(self.conn), self.thresholds)
        # First: the gateways' own verdicts carry the onset and who their modem already told,
        # which the cloud's hourly climate rules must know before they notify anyone.
        self._gateway_alarms(service, now, report)
        self._flocks(service, now, report)
        self._gateways(service, now, report)
        self._dead_birds(service, now, report)
        self._unit(report, "regional", None, now, lambda _tally: service.regional(now))
        self._tick(now, report)
        self._digests(now, report)
        report.sent = self.outbox.deliver_due(now).sent
        return report

    def _unit(
        self,
        report: CycleReport,
        step: str,
        farm: str | None,
        now: datetime,
        judge: Callable[[_Tally], list[Effect]],
    ) -> bool:
        """Judge, save the alerts and queue their SMS in one transaction.

        An alert is saved as notified only together with the outbox rows that tell it: if
        anything fails, both are rolled back, and the next cycle judges and queues again.
        """
        state = self.engine.checkpoint()
        tally = _Tally()
        try:
            with unit_of_work(self.conn):
                effects = judge(tally)
                queued = self.dispatcher.handle(effects, now)
        except Exception as exc:  # the isolation boundary: whatever failed, failed for this farm
            self.engine.restore(state)
            self.alerts.snapshot()  # the cycle's view must not keep the saves just undone
            report.fail(self.failures.record(step, farm, exc))
            return False
        report.effects += len(effects)
        report.queued += len(queued)
        report.flocks += tally.flocks
        report.climate_hours += tally.climate_hours
        report.gateways += tally.gateways
        report.dead_birds += tally.dead_birds
        report.gateway_events += tally.gateway_events
        self._drift_judged.update(tally.drift_judged)
        return True

    def _read(
        self, report: CycleReport, step: str, read: Callable[[], _T], farm: str | None = None
    ) -> _T | None:
        """A read outside any unit (batched for all farms, or one farm's); None when it fails."""
        try:
            return read()
        except psycopg.Error as exc:
            self.conn.rollback()
            report.fail(self.failures.record(step, farm, exc))
            return None

    def _flocks(self, service: AlertService, now: datetime, report: CycleReport) -> None:
        today = now.astimezone(ZoneInfo(self.tz)).date()
        flocks = self._read(
            report, "flocks", partial(load_flocks, self.conn, today - timedelta(days=2), today)
        )
        by_farm: dict[str, list[FlockRow]] = defaultdict(list)
        for flock in flocks or ():
            by_farm[flock.farm].append(flock)
        for farm, rows in sorted(by_farm.items()):
            self._unit(report, "flocks", farm, now, partial(self._farm, service, rows, today, now))

    def _farm(
        self,
        service: AlertService,
        flocks: list[FlockRow],
        today: date,
        now: datetime,
        tally: _Tally,
    ) -> list[Effect]:
        return [e for flock in flocks for e in self._flock(service, flock, today, now, tally)]

    def _flock(
        self, service: AlertService, flock: FlockRow, today: date, now: datetime, tally: _Tally
    ) -> list[Effect]:
        effects: list[Effect] = []
        start = now - timedelta(hours=CLIMATE_HOURS + 8)
        history = _partial_today(load_history(self.conn, flock, today, self.tz), today)
        # Completed days (late entries), then today's deaths so far.
        curve = self._curve(flock)
        for day in (today - timedelta(days=2), today - timedelta(days=1), today):
            if history.get(day) is not None:
                # Never in the future: today (and, early in the morning, yesterday's UTC
                # end) is judged as of now, so escalation clocks start now.
                effects += service.flock_day(history, day, curve, at=min(end_of_day(day), now))
        tally.flocks += 1
        effects += self._nh3_drift(service, flock, today, now, tally)
        samples = load_environment(self.conn, flock.house, start, now)
        age = (today - flock.placed_on).days
        record = history.get(today) or history.get(today - timedelta(days=1))
        weight = record.mean_weight_g if record is not None and record.mean_weight_g else None
        if weight is None and curve is not None:
            weight = curve(age)
        usual_peak = self._usual_peak_thi(service, flock, today)
        for sample in samples:
            if sample.at > now - timedelta(hours=CLIMATE_HOURS) and sample.at <= now:
                effects += service.environment(
                    flock.farm, flock.house, samples, sample.at, flock.breed, weight, age,
                    usual_peak,
                )
                tally.climate_hours += 1
        return effects

    def _nh3_drift(
        self, service: AlertService, flock: FlockRow, today: date, now: datetime, tally: _Tally
    ) -> list[Effect]:
        """Judge the completed days, once per house and day (the inputs only change daily)."""
        if self._drift_judged.get(flock.house) == today or flock.house in tally.drift_judged:
            return []
        th = service.book.resolve(None, flock.farm, flock.house).health
        first = today - timedelta(days=th.nh3_drift_baseline_days + th.nh3_drift_days)
        hours = load_gas_hours(self.conn, flock.house, first, today - timedelta(days=1), self.tz)
        days = [gas_day(day, pairs, th) for day, pairs in sorted(hours.items())]
        tally.drift_judged[flock.house] = today  # kept only if the farm's unit commits
        return service.nh3_drift(flock.farm, flock.house, days, now)

    def _usual_peak_thi(self, service: AlertService, flock: FlockRow, today: date) -> float | None:
        """The heat this house's birds are used to: median daily peak THI of the past days."""
        cached = self._usual_peak.get(flock.house)
        if cached is not None and cached[0] == today:
            return cached[1]
        th = service.book.resolve(flock.breed, flock.farm, flock.house).environment
        first = max(flock.placed_on, today - timedelta(days=th.heat_wave_days))
        peaks = load_peak_thi(self.conn, flock.house, first, today - timedelta(days=1), self.tz)
        usual = usual_peak_thi(list(peaks.values()), th.heat_wave_min_days)
        self._usual_peak[flock.house] = (today, usual)
        return usual

    def _curve(self, flock: FlockRow) -> ExpectedWeight | None:
        key = (flock.farm, flock.breed)
        if key not in self._curves:
            self._curves[key] = growth_curve(self.conn, flock)
        return self._curves[key]

    def _dead_birds(self, service: AlertService, now: datetime, report: CycleReport) -> None:
        window = timedelta(hours=service.book.resolve().camera.dead_bird_window_hours)
        read = partial(load_dead_bird_sightings, self.conn, now - window, now)
        sightings = self._read(report, "dead_birds", read)
        if sightings is None:
            return
        by_farm: dict[str, dict[str, list[DeadBirdSighting]]] = defaultdict(dict)
        for (farm, house), seen in service.dead_bird_houses(sightings).items():
            by_farm[farm][house] = seen

        def judge(farm: str, houses: dict[str, list[DeadBirdSighting]], tally: _Tally) -> list[Effect]:
            effects: list[Effect] = []
            for house, seen in sorted(houses.items()):
                tally.dead_birds += len(seen)
                effects += service.dead_birds_in(farm, house, seen, now)
            return effects

        for farm, houses in sorted(by_farm.items()):
            self._unit(report, "dead_birds", farm, now, partial(judge, farm, houses))

    def _gateways(self, service: AlertService, now: datetime, report: CycleReport) -> None:
        """One batched read for the fleet; farm by farm only when it fails (one farm's bad row)."""
        snapshots: list[GatewaySnapshot] = []
        try:
            snapshots = load_gateway_snapshots(self.conn, now, self.heartbeat_s)
        except psycopg.Error as exc:
            self.conn.rollback()
            self.metrics.batch_fallbacks.labels("gateways").inc()
            log.info("batched gateway read failed (%s); reading farm by farm", reason(exc))
            for farm in sorted(service.farms):
                read = partial(load_gateway_snapshots, self.conn, now, self.heartbeat_s, farm)
                snapshots += self._read(report, "gateways", read, farm) or []
        by_farm: dict[str, list[GatewaySnapshot]] = defaultdict(list)
        for snapshot in snapshots:
            by_farm[snapshot.farm].append(snapshot)

        def judge(rows: list[GatewaySnapshot], tally: _Tally) -> list[Effect]:
            tally.gateways += len(rows)
            return [e for snapshot in rows for e in service.gateway(snapshot)]

        for farm, rows in sorted(by_farm.items()):
            self._unit(report, "gateways", farm, now, partial(judge, rows))

    def _gateway_alarms(self, service: AlertService, now: datetime, report: CycleReport) -> None:
        """The gateways' rule events and local-alarm reports, farm by farm, each judged once."""
        read = self._read(report, "gateway_events", partial(load_gateway_alerts, self.conn, now))
        if read is None:
            return
        events, bad = read
        if bad:
            log.warning("%d gateway alert events could not be read; left unjudged", bad)
        by_farm: dict[str, list[GatewayEvent]] = defaultdict(list)
        for event in events:
            by_farm[event.farm].append(event)

        def judge(farm_events: list[GatewayEvent], tally: _Tally) -> list[Effect]:
            effects: list[Effect] = []
            for event in farm_events:
                effects += service.gateway_event(event)
                alert = self.alerts.current(event.key()) if event.known else None
                if event.sms_to and alert is not None and not event.cleared:
                    self.dispatcher.record_local_sms(alert, event.sms_to, event.at, event.gateway, event.seq)
            mark_judged(self.conn, farm_events)
            tally.gateway_events += len(farm_events)
            return effects

        for farm, farm_events in sorted(by_farm.items()):
            self._unit(report, "gateway_events", farm, now, partial(judge, farm_events))

    def _tick(self, now: datetime, report: CycleReport) -> None:
        """Escalations, auto-resolves and digests, one farm (or region) per unit."""
        active = self._read(report, "tick", self.alerts.active)
        if active is None:
            return
        by_scope: dict[str, list[Alert]] = {scope: [] for scope in self.engine.held_scopes()}
        for alert in active:
            by_scope.setdefault(scope_of(alert.key), []).append(alert)
        for scope, alerts in sorted(by_scope.items()):
            farm = None if scope.startswith("region:") else scope
            tick = partial(self._tick_scope, now, scope, alerts)
            self._unit(report, "tick", farm if farm is not None else scope, now, tick)

    def _digests(self, now: datetime, report: CycleReport) -> None:
        """The day's digest SMS per person, with their held lines marked, in one unit."""
        try:
            with unit_of_work(self.conn):
                queued = self.dispatcher.send_digests(now)
        except Exception as exc:  # reported; the held lines wait for the next cycle
            report.fail(self.failures.record("digests", None, exc))
            return
        report.queued += len(queued)

    def _tick_scope(
        self, now: datetime, scope: str, alerts: list[Alert], tally: _Tally
    ) -> list[Effect]:
        return self.engine.tick(now, scope, alerts)


def _partial_today(history: FlockHistory, today: date) -> FlockHistory:
    """Today is not over: its deaths count (they only grow), its water and feed do not yet."""
    record = history.get(today)
    if record is None:
        return history
    records = [r for r in history if r.day != today]
    records.append(replace(record, water_l=None, feed_kg=None, eggs=None))
    # Half a day's water is not a typo either: today only its deaths can be questioned.
    suspects = dict(history.suspects)
    today_deaths = tuple(s for s in suspects.pop(today, ()) if s.column == "deaths")
    if today_deaths:
        suspects[today] = today_deaths
    return FlockHistory(history.context, records, suspects)


def load_dead_bird_sightings(
    conn: psycopg.Connection, since: datetime, until: datetime
) -> list[DeadBirdSighting]:
    """Detector deaths in (since, until], less those a person has rejected; each marked doubted
    when its camera's reports are doubted at `until`."""
    rows = conn.execute(
        "SELECT id, farm_id, house_id, ts, evidence FROM mortality_records "
        "WHERE source = 'detector' AND ts > %s AND ts <= %s AND confirmed IS NOT FALSE "
        "AND farm_id IS NOT NULL AND house_id IS NOT NULL ORDER BY ts, id",
        (since, until),
    ).fetchall()
    evidence = [ev if isinstance(ev, dict) else {} for *_, ev in rows]
    cameras = {(e["gateway_id"], e["camera"]) for e in evidence
               if isinstance(e.get("gateway_id"), str) and isinstance(e.get("camera"), str)}
    doubted = camera_trust.doubted_cameras(conn, until, cameras)
    end_read(conn)
    return [DeadBirdSighting(rid, farm, house, ts, ev,
                             doubted=(ev.get("gateway_id"), ev.get("camera")) in doubted)
            for (rid, farm, house, ts, _), ev in zip(rows, evidence, strict=True)]


def load_gateway_snapshots(
    conn: psycopg.Connection, now: datetime, heartbeat_s: float, farm: str | None = None
) -> list[GatewaySnapshot]:
    """Every live gateway's snapshot, or only `farm`'s (the fallback when the fleet's read fails)."""
    only = {"farm": farm}
    mine = "(%(farm)s::text IS NULL OR gateway_id IN (SELECT id FROM gateways WHERE farm_id = %(farm)s))"
    gateways = conn.execute(
        "SELECT id, farm_id, last_seen, status FROM gateways WHERE revoked_at IS NULL "
        "AND (%(farm)s::text IS NULL OR farm_id = %(farm)s) ORDER BY id",
        only,
    ).fetchall()
    sensors: dict[str, list[SensorHealth]] = {}
    for gw, sensor, house, state, faults in conn.execute(
        f"SELECT gateway_id, id, house_id, state, faults FROM sensors WHERE {mine}",  # noqa: S608 - fixed fragment
        only,
    ).fetchall():
        sensors.setdefault(gw, []).append(SensorHealth(sensor, state, house, tuple(faults or ())))
    cameras: dict[str, list[CameraHealth]] = {}
    for gw, camera, house, state in conn.execute(
        f"SELECT gateway_id, id, house_id, state FROM cameras WHERE {mine}",  # noqa: S608 - fixed fragment
        only,
    ).fetchall():
        cameras.setdefault(gw, []).append(CameraHealth(camera, state, house))
    depths: dict[str, list[tuple[datetime, int]]] = {}
    offsets: dict[str, float] = {}
    # The offset comes back as JSON and is checked here: a cast in SQL would fail the whole
    # fleet's read on one gateway's odd payload.
    for gw, ts, depth, offset in conn.execute(
        f"""SELECT gateway_id, ts, outbox_depth, payload->'clock_offset_s' FROM (
               SELECT gateway_id, ts, outbox_depth, payload,
                      row_number() OVER (PARTITION BY gateway_id ORDER BY ts DESC) AS n
               FROM health WHERE ts > %(since)s AND ts <= %(now)s AND {mine}) h
           WHERE n <= %(samples)s ORDER BY gateway_id, ts""",  # noqa: S608 - fixed fragment
        {**only, "since": now - timedelta(days=1), "now": now, "samples": BACKLOG_SAMPLES},
    ).fetchall():
        if depth is not None:
            depths.setdefault(gw, []).append((ts, int(depth)))
        if _finite_number(offset):
            offsets[gw] = float(offset)  # rows are oldest first: the last one wins
    end_read(conn)
    return [
        GatewaySnapshot(
            gateway=gw,
            farm=farm_id,
            at=now,
            last_seen=last_seen,
            last_will=status == "offline",
            heartbeat_s=heartbeat_s,
            sensors=tuple(sensors.get(gw, ())),
            cameras=tuple(cameras.get(gw, ())),
            outbox_depths=tuple(depths.get(gw, ())),
            clock_offset_s=offsets.get(gw),
        )
        for gw, farm_id, last_seen, status in gateways
    ]


def _finite_number(value: Any) -> bool:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return isfinite(value)
    except OverflowError:  # an integer too large for a float
        return False


def utc_now() -> datetime:
    return datetime.now(UTC)
