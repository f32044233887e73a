"""Dead birds seen by the camera detector: one alert per house while carcasses are fresh.

The detection worker already did the hard part (a `dead` box lying still for the stillness
span, lights on) and wrote a mortality record with evidence. This rule turns a house's
recent records into one alert carrying the latest photo, so a farmer is told once, and
told again only if it gets worse.

Sightings from a camera whose reports people keep rejecting (`cloud/camera_trust.py`) are
doubted: alone, they make a note-level alert (in the app with its photo, a line in the farmer's
evening digest, no SMS at once), and they never count towards a critical alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from cloud.alerts.model import DEAD_BIRD, AlertKey, DeadBirdSighting, Finding, Severity
from cloud.alerts.rules.result import Evaluation
from cloud.alerts.thresholds import CameraThresholds


def check_dead_birds(
    farm: str,
    house: str,
    sightings: Sequence[DeadBirdSighting],
    at: datetime,
    th: CameraThresholds,
) -> Evaluation:
    key = AlertKey(farm, house, DEAD_BIRD)
    result = Evaluation(at=at)
    since = at - timedelta(hours=th.dead_bird_window_hours)
    recent = sorted((s for s in sightings if since < s.at <= at), key=lambda s: s.at)
    if not recent:
        result.cleared.append(key)
        return result
    trusted = [s for s in recent if not s.doubted]
    latest = (trusted or recent)[-1]
    evidence = {
        k: latest.evidence[k]
        for k in ("camera", "frame", "crop", "still_since")
        if k in latest.evidence
    }
    if not trusted:
        severity, rule = Severity.INFO, "doubted_camera"
    elif len(trusted) >= th.dead_bird_critical_count:
        severity, rule = Severity.CRITICAL, "still_carcass"
    else:
        severity, rule = Severity.WARNING, "still_carcass"
    result.findings.append(
        Finding(
            key=key,
            severity=severity,
            at=latest.at,
            rule=rule,
            value=len(recent),
            threshold=th.dead_bird_critical_count,
            evidence={
                **evidence,
                "record_id": latest.record_id,
                "records": [s.record_id for s in recent],
                **({"doubted": len(recent) - len(trusted)} if len(trusted) < len(recent) else {}),
            },
        )
    )
    return result
