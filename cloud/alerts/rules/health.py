"""Gateway health rules: what a technician needs to keep a hundred gateways running."""

from __future__ import annotations

from datetime import timedelta

from cloud.alerts.model import (
    CAMERA_BLIND,
    CLOCK_SKEW,
    GATEWAY_OFFLINE,
    OUTBOX_BACKLOG,
    SENSOR_FAULT,
    AlertKey,
    Finding,
    GatewaySnapshot,
    Severity,
)
from cloud.alerts.rules.result import NO_DATA, Evaluation, RuleResult
from cloud.alerts.thresholds import HealthThresholds


def check_gateway(snap: GatewaySnapshot, th: HealthThresholds) -> Evaluation:
    result = Evaluation(at=snap.at)

    def key(kind: str) -> AlertKey:
        return AlertKey(snap.farm, None, kind, subject=snap.gateway)

    offline = _offline(snap, key(GATEWAY_OFFLINE), th)
    result.add(key(GATEWAY_OFFLINE), offline)
    if isinstance(offline, Finding):
        # Nothing below is current while the gateway is silent; keep those alerts as they are.
        result.no_data.extend(
            key(k) for k in (SENSOR_FAULT, CAMERA_BLIND, OUTBOX_BACKLOG, CLOCK_SKEW)
        )
        return result
    result.add(key(SENSOR_FAULT), _sensors(snap, key(SENSOR_FAULT)))
    result.add(key(CAMERA_BLIND), _cameras(snap, key(CAMERA_BLIND)))
    result.add(key(OUTBOX_BACKLOG), _backlog(snap, key(OUTBOX_BACKLOG), th))
    result.add(key(CLOCK_SKEW), _skew(snap, key(CLOCK_SKEW), th))
    return result


def _offline(snap: GatewaySnapshot, key: AlertKey, th: HealthThresholds) -> RuleResult:
    limit = timedelta(seconds=th.missed_heartbeats * snap.heartbeat_s)
    silent = None if snap.last_seen is None else snap.at - snap.last_seen
    if not snap.last_will and silent is not None and silent <= limit:
        return None
    if silent is None and not snap.last_will:
        return NO_DATA  # never seen: a gateway not yet installed is not "offline"
    hours = None if silent is None else silent.total_seconds() / 3600
    long = hours is not None and hours >= th.offline_critical_hours
    return Finding(
        key=key,
        severity=Severity.CRITICAL if long else Severity.WARNING,
        at=snap.at,
        rule="last_will" if snap.last_will else "missed_heartbeats",
        value=None if hours is None else round(hours, 2),
        threshold=limit.total_seconds() / 3600,
        evidence={"last_seen": None if snap.last_seen is None else snap.last_seen.isoformat()},
    )


def _sensors(snap: GatewaySnapshot, key: AlertKey) -> RuleResult:
    if not snap.sensors:
        return NO_DATA
    bad = [s for s in snap.sensors if s.state != "ok"]
    if not bad:
        return None
    return Finding(
        key=key,
        severity=Severity.WARNING,
        at=snap.at,
        rule="sensor_state",
        value=len(bad),
        evidence={
            "sensors": [
                {"sensor": s.sensor, "state": s.state, "house": s.house, "faults": list(s.faults)}
                for s in bad
            ]
        },
    )


def _cameras(snap: GatewaySnapshot, key: AlertKey) -> RuleResult:
    if not snap.cameras:
        return NO_DATA
    bad = [c for c in snap.cameras if c.state != "ok"]
    if not bad:
        return None
    return Finding(
        key=key,
        severity=Severity.WARNING,
        at=snap.at,
        rule="camera_state",
        value=len(bad),
        evidence={
            "cameras": [{"camera": c.camera, "state": c.state, "house": c.house} for c in bad]
        },
    )


def _backlog(snap: GatewaySnapshot, key: AlertKey, th: HealthThresholds) -> RuleResult:
    depths = [d for _, d in snap.outbox_depths[-th.backlog_growth_samples :]]
    if len(depths) < th.backlog_growth_samples:
        return NO_DATA
    growing = all(b > a for a, b in zip(depths, depths[1:], strict=False))
    if not growing or depths[-1] < th.backlog_min_depth:
        return None
    return Finding(
        key=key,
        severity=Severity.WARNING,
        at=snap.at,
        rule="outbox_growing",
        value=depths[-1],
        threshold=th.backlog_min_depth,
        evidence={"depths": depths},
    )


def _skew(snap: GatewaySnapshot, key: AlertKey, th: HealthThresholds) -> RuleResult:
    if snap.clock_offset_s is None:
        return NO_DATA
    skew = abs(snap.clock_offset_s)
    if skew <= th.clock_skew_warning_s:
        return None
    # Event time is only as good as the gateway clock: a big skew misfiles every reading.
    critical = skew > th.clock_skew_critical_s
    return Finding(
        key=key,
        severity=Severity.CRITICAL if critical else Severity.WARNING,
        at=snap.at,
        rule="clock_offset",
        value=snap.clock_offset_s,
        threshold=th.clock_skew_critical_s if critical else th.clock_skew_warning_s,
    )
