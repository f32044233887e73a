"""What happened, what the platform caught and when, and who was told."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from cloud.alerts.policy import COVERED_BY, Audience, LifecyclePolicy
from cloud.detect.postprocess import best_overlap
from edge.frames import CameraChannel
from firmware_sim.scenario import Scenario
from firmware_sim.world import World

if TYPE_CHECKING:
    from fuhuiyang.demo.gateways import DemoGateway
    from fuhuiyang.demo.runner import Counters
    from fuhuiyang.demo.sms_sink import SmsSink
    from fuhuiyang.demo.stack import Stack

# The alert types specific to each kind of injected event: the alert a farmer needs for *this*
# problem. A ventilation failure shows as rising temperature, NH3 or CO2 in that house, not as the
# heat stress a hot week had already raised.
CATCHES: dict[str, frozenset[str]] = {
    "hpai": frozenset({"mortality", "suspected_notifiable_disease", "water_drop", "regional_outbreak",
                       "dead_bird"}),
    "nd": frozenset({"mortality", "suspected_notifiable_disease", "water_drop", "water_flat",
                     "weight_gain_slow", "dead_bird"}),
    "coccidiosis": frozenset({"weight_gain_slow", "weight_below_curve", "uniformity_falling", "mortality",
                              "water_drop"}),
    "heat_wave": frozenset({"heat_wave", "heat_stress", "temperature_out_of_band", "temperature_fast_change"}),
    "cold_snap": frozenset({"temperature_out_of_band", "temperature_fast_change"}),
    "ventilation_failure": frozenset({"nh3_high", "co2_high", "temperature_out_of_band",
                                      "temperature_fast_change"}),
    "sensor_fault": frozenset({"sensor_fault", "sensor_drift"}),
    "camera_blackout": frozenset({"camera_blind"}),
    "gateway_power_loss": frozenset({"gateway_offline"}),
    "network_outage": frozenset({"gateway_offline"}),
}
# Events confined to one house are caught only by an alert about that house (or the whole farm).
HOUSE_KINDS = frozenset({"ventilation_failure", "sensor_fault", "camera_blackout"})
CATCH_WINDOW_MS = 3 * 86_400_000  # an alert this long after the event's start still counts


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def summarise(stack: Stack, world: World, scenario: Scenario, gateways: list[DemoGateway],
              counters: Counters, sink: SmsSink, days: int) -> dict[str, Any]:
    with stack.connect() as conn:
        readings_stored = conn.execute("SELECT count(*) FROM readings").fetchone()[0]  # type: ignore[index]
        frames_stored = conn.execute("SELECT count(*) FROM frames").fetchone()[0]  # type: ignore[index]
        frames_judged = conn.execute("SELECT count(*) FROM detection_frames").fetchone()[0]  # type: ignore[index]
        reports = conn.execute(
            "SELECT evidence->>'gateway_id', evidence->>'camera', evidence->'box' "
            "FROM mortality_records WHERE source = 'detector'").fetchall()
        rows = [AlertRow(*r) for r in conn.execute(
            "SELECT type, severity, farm_id, house_id, region_id, event_start, "
            "coalesce(event_end, event_start), raised_at FROM alerts ORDER BY event_start"
        ).fetchall()]
        critical = conn.execute(_CRITICAL_REACH, {"covers": list(COVERED_BY),
                                                  "covered": [",".join(sorted(k)) for k in COVERED_BY.values()]}).fetchall()
        roles: dict[str, str] = dict(conn.execute("SELECT phone, role FROM users WHERE phone IS NOT NULL").fetchall())
        provisioned = {r[0] for r in conn.execute(
            "SELECT id FROM gateways WHERE password_hash IS NOT NULL AND revoked_at IS NULL").fetchall()}
    alerts = [
        {"type": r.type, "severity": r.severity, "farm_id": r.farm, "region_id": r.region,
         "event_time": r.start.isoformat(), "raised_at": r.raised_at.isoformat()}
        for r in rows
    ]
    farm_county = {f.id: f.county for f in scenario.all_farms()}
    farm_township = {f.id: f"{f.county}.{f.township}" for f in scenario.all_farms()}
    injected = []
    detected = []
    seen_events = set()
    for event in world.timeline():
        if event["end_ms"] <= world.start_ms or event["start_ms"] >= world.start_ms + days * 86_400_000:
            continue
        key = (event["type"], event["farm_id"], event["start_ms"])
        if key in seen_events:
            continue
        seen_events.add(key)
        injected.append({"kind": event["type"], "label": event["label"], "farm_id": event["farm_id"],
                         "start": _iso(event["start_ms"]), "end": _iso(event["end_ms"])})
        detected.append(first_catch(event, rows, farm_township))
    cameras = [(g.gateway_id, c) for g in gateways for c in (g.agent.devices.cameras or [])
               if isinstance(c, CameraChannel)]
    channels = [c for _, c in cameras]
    carcasses = {(gw, c.camera_id): getattr(c.grabber, "carcasses", {}) for gw, c in cameras}
    on_carcass, carcasses_found = _check_reports(reports, carcasses)
    frames_queued = sum(c.stats.queued for c in channels)
    frames_dropped = sum(c.stats.dropped_budget for c in channels) + sum(
        g.agent.outbox.drops().get("frame", 0) for g in gateways)
    return {
        "days": days,
        "farms": len(world.farms),
        "gateways": len(gateways),
        "counties": len({farm_county[f.farm.id] for f in world.farms}),
        "readings_published": counters.readings_published,
        "readings_stored": int(readings_stored),
        "frames_published": frames_queued,
        "frames_stored": int(frames_stored),
        "frames_dropped_by_budget": frames_dropped,
        "frames_judged": int(frames_judged),
        "dead_birds_in_view": sum(getattr(c.grabber, "killed", 0) for c in channels),
        "dead_birds_reported": len(reports),
        "reports_on_a_carcass": on_carcass,
        "carcasses_reported": carcasses_found,
        "alerts": alerts,
        "sms_sent": len(sink.messages),
        "sms_by_recipient": sms_by_recipient(sink.messages, roles),
        "critical_to_farmer": critical_reach(critical),
        "sms_samples": [m.get("text") for m in sink.messages[:5]],
        "injected": injected,
        "detected": detected,
        "caught": sum(1 for d in detected if d is not None and not d["already_open"]),
        "alert_cycles": counters.alert_cycles,
        "timing_s": {"gateways": round(counters.gateways_s, 1), "barriers": round(counters.barrier_s, 1),
                     "alert_cycles": round(counters.alerts_s, 1)},
        "broker": broker_block(stack, gateways, provisioned),
        **({"broker_note": stack.broker_note} if stack.broker_note else {}),
    }


def broker_block(stack: Stack, gateways: list[DemoGateway], provisioned: set[str]) -> dict[str, bool]:
    """How the run's broker was secured, found out rather than assumed: the broker is asked whether
    it takes an anonymous login, and each agent's own settings say how it connected."""
    from fuhuiyang.services.mqtt import accepts_anonymous

    settings = [g.agent.config.mqtt for g in gateways]
    return {
        "tls": stack.broker.tls and all(s.tls for s in settings),
        "anonymous": accepts_anonymous(stack.broker, stack.ca_file),
        # Each agent logs in as itself with a password provisioning issued (a hash in the database).
        "per_gateway_credentials": bool(gateways) and all(
            s.username == g.gateway_id and s.password() and g.gateway_id in provisioned
            for s, g in zip(settings, gateways, strict=True)),
    }


REPORT_IOU = 0.3  # a report is right when its box overlaps where a dead bird was last seen


def _check_reports(reports: list[Any], carcasses: dict[tuple[str, str], dict[int, Any]]) -> tuple[int, int]:
    """(detector reports on a dead bird that camera showed, distinct dead birds so reported)."""
    right, found = 0, set()
    for gateway_id, camera, box in reports:
        seen = carcasses.get((gateway_id, camera), {})
        birds = list(seen)
        best = best_overlap(np.asarray(box, float), np.array([seen[b] for b in birds], float).reshape(-1, 4),
                            REPORT_IOU)
        if best is not None:
            right += 1
            found.add((gateway_id, camera, birds[best]))
    return right, len(found)


@dataclass(frozen=True)
class AlertRow:
    type: str
    severity: str
    farm: str | None
    house: str | None
    region: str | None
    start: datetime  # event time the alert opened
    end: datetime  # last seen, in event time
    raised_at: datetime


def first_catch(event: dict[str, Any], rows: list[AlertRow], farm_township: dict[str, str]) -> dict[str, Any] | None:
    """The first alert specific to `event`, raised after it began; else one already open, flagged.

    Only a new alert counts as a catch (`already_open` false): an alert open before the event
    began told the farmer about something else, not about this.
    """
    types = CATCHES.get(event["type"], frozenset())
    start = datetime.fromtimestamp(event["start_ms"] / 1000, tz=UTC)
    limit = datetime.fromtimestamp((event["start_ms"] + CATCH_WINDOW_MS) / 1000, tz=UTC)
    township = farm_township.get(event["farm_id"])
    house = event.get("house") if event["type"] in HOUSE_KINDS else None
    house_id = None if house is None else f"{event['farm_id']}-{house}"

    def about(r: AlertRow) -> bool:
        if r.type not in types:
            return False
        if r.farm is None:
            return r.region == township
        return r.farm == event["farm_id"] and (house_id is None or r.house in (None, house_id))

    matching = [r for r in rows if about(r) and r.start <= limit and r.end >= start]
    new = [r for r in matching if r.start >= start]
    if new:
        return _catch(event, min(new, key=lambda r: r.start), start, already_open=False)
    if matching:
        return _catch(event, min(matching, key=lambda r: r.start), start, already_open=True)
    return None


def _catch(event: dict[str, Any], row: AlertRow, start: datetime, already_open: bool) -> dict[str, Any]:
    return {"kind": event["type"], "farm_id": event["farm_id"], "alert_type": row.type,
            "severity": row.severity, "event_time": row.start.isoformat(),
            "delay_h": round(max(0.0, (row.start - start).total_seconds()) / 3600, 2),
            "raised_at": row.raised_at.isoformat(), "already_open": already_open}


_REACHED = """EXISTS (SELECT 1 FROM notifications n JOIN users u ON u.id = n.user_id AND u.role = 'farmer'
    WHERE n.alert_id = {a}.id AND n.template LIKE '%%.critical' AND n.state IN ('sent', 'delivered'))"""
# A critical alert reaches the farmer by its own SMS, or, while a covering alert is live (a
# suspected-disease alert covers the mortality and water drop behind it), by that one's SMS.
_CRITICAL_REACH = f"""
SELECT a.type, a.farm_id, a.event_start, {_REACHED.format(a="a")} OR EXISTS (
    SELECT 1 FROM unnest(%(covers)s::text[], %(covered)s::text[]) AS c(cover, kinds)
    JOIN alerts b ON b.type = c.cover AND b.farm_id = a.farm_id AND b.house_id IS NOT DISTINCT FROM a.house_id
    WHERE a.type = ANY(string_to_array(c.kinds, ',')) AND b.event_start <= a.event_start + interval '1 day'
      AND coalesce(b.resolved_at, 'infinity') >= a.event_start AND {_REACHED.format(a="b")})
FROM alerts a WHERE a.severity = 'critical' AND a.farm_id IS NOT NULL ORDER BY a.event_start"""


def critical_reach(rows: list[Any]) -> dict[str, Any]:
    """Critical farm alerts whose route tells the farmer, and whether a critical SMS reached them."""
    policy = LifecyclePolicy()
    owed = [r for r in rows if any(s.audience is Audience.FARMER for s in policy.steps_for(r[0]))]
    missing = [{"type": t, "farm_id": f, "event_time": at.isoformat()} for t, f, at, reached in owed if not reached]
    return {"alerts": len(owed), "reached": len(owed) - len(missing), "missing": missing}


def sms_by_recipient(messages: list[dict[str, Any]], roles: dict[str, str]) -> list[dict[str, Any]]:
    """SMS per phone as the gateway received them, with the person's role, most first."""
    counts = Counter(str(m.get("to")) for m in messages)
    return [{"to": to, "role": roles.get(to, "unknown"), "count": n}
            for to, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
