"""What happened, what the platform caught and when, and who was told."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from cloud.detect.postprocess import best_overlap
from edge.frames import CameraChannel
from firmware_sim.scenario import Scenario
from firmware_sim.world import World

if TYPE_CHECKING:
    from fuhuiyang.demo.gateways import DemoGateway
    from fuhuiyang.demo.runner import Counters
    from fuhuiyang.demo.sms_sink import SmsSink
    from fuhuiyang.demo.stack import Stack

# Which alert types count as having caught each kind of injected event.
CATCHES: dict[str, set[str]] = {
    "hpai": {"mortality", "suspected_notifiable_disease", "water_drop", "regional_outbreak", "dead_bird"},
    "nd": {"mortality", "suspected_notifiable_disease", "water_drop", "water_flat", "weight_gain_slow",
           "dead_bird"},
    "coccidiosis": {"weight_gain_slow", "weight_below_curve", "uniformity_falling", "mortality", "water_drop"},
    "heat_wave": {"heat_stress", "temperature_out_of_band", "temperature_fast_change", "mortality"},
    "cold_snap": {"temperature_out_of_band", "temperature_fast_change"},
    "ventilation_failure": {"nh3_high", "co2_high", "heat_stress", "temperature_out_of_band",
                            "temperature_fast_change", "humidity_out_of_range"},
    "sensor_fault": {"sensor_fault", "sensor_drift"},
    "camera_blackout": {"camera_blind"},
    "gateway_power_loss": {"gateway_offline"},
    "network_outage": {"gateway_offline"},
}
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
        rows = conn.execute(
            "SELECT type, severity, farm_id, event_start, raised_at, region_id, coalesce(event_end, event_start) "
            "FROM alerts ORDER BY event_start"
        ).fetchall()
    alerts = [
        {"type": r[0], "severity": r[1], "farm_id": r[2], "region_id": r[5],
         "event_time": r[3].isoformat(), "raised_at": r[4].isoformat()}
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
        detected.append(_first_catch(event, rows, farm_township))
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
        "sms_samples": [m.get("text") for m in sink.messages[:5]],
        "injected": injected,
        "detected": detected,
        "alert_cycles": counters.alert_cycles,
        "timing_s": {"gateways": round(counters.gateways_s, 1), "barriers": round(counters.barrier_s, 1),
                     "alert_cycles": round(counters.alerts_s, 1)},
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


def _first_catch(event: dict[str, Any], rows: list[Any], farm_township: dict[str, str]) -> dict[str, Any] | None:
    types = CATCHES.get(event["type"], set())
    start = datetime.fromtimestamp(event["start_ms"] / 1000, tz=UTC)
    limit = datetime.fromtimestamp((event["start_ms"] + CATCH_WINDOW_MS) / 1000, tz=UTC)
    township = farm_township.get(event["farm_id"])
    # An alert already open when the event began counts too (a heat wave on a farm already
    # warned of heat stress): the farmer knows; the delay is then zero.
    caught = [r for r in rows if r[0] in types
              and (r[2] == event["farm_id"] or (r[2] is None and r[5] == township))
              and r[3] <= limit and r[6] >= start]
    if not caught:
        return None
    type_, severity, _farm, event_start, raised_at, _region, _end = min(caught, key=lambda r: max(r[3], start))
    return {"kind": event["type"], "farm_id": event["farm_id"], "alert_type": type_,
            "severity": severity, "event_time": event_start.isoformat(),
            "delay_h": round(max(0.0, (event_start - start).total_seconds()) / 3600, 2),
            "raised_at": raised_at.isoformat()}
