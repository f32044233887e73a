"""Lifecycle policy: hold times, cooldowns, who is told when, storm limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from cloud.alerts.model import (
    CAMERA_BLIND,
    CLOCK_SKEW,
    DEAD_BIRD,
    EGG_DROP,
    FLOCK_TYPES,
    GATEWAY_OFFLINE,
    HEAT_STRESS,
    HEAT_WAVE,
    HUMIDITY_RANGE,
    MORTALITY,
    OUTBOX_BACKLOG,
    RECORD_SUSPECT,
    REGIONAL_OUTBREAK,
    SENSOR_DRIFT,
    SENSOR_FAULT,
    SUSPECTED_DISEASE,
    WATER_DROP,
    WATER_FLAT,
    Severity,
)


class Audience(StrEnum):
    FARMER = "farmer"
    TECHNICIAN = "technician"
    PROGRAM_STAFF = "program_staff"


@dataclass(frozen=True)
class Step:
    """Tell `audience` once the alert has been open (and unacknowledged) for `after`."""

    audience: Audience
    after: timedelta = timedelta(0)
    min_severity: Severity = Severity.WARNING


# Programme staff run the programme, not the farm: one farm's emergency is the farmer's and
# the technician's, and reaches staff only when it is still open and unacknowledged a day
# later (then in their digest). Notifiable disease and regional outbreaks go to them at once
# (routes below). Measured on the 30-day demo: with a 60-minute step staff got 14 SMS, most of
# them digests of one-farm emergencies the farm had cleared within hours (CO2 for a few hours,
# a gateway back on power).
DEFAULT_STEPS = (
    Step(Audience.FARMER),
    Step(Audience.TECHNICIAN, timedelta(minutes=30)),
    Step(Audience.PROGRAM_STAFF, timedelta(hours=24), Severity.CRITICAL),
)
_NOW = timedelta(0)
_TECH_FIRST = (
    Step(Audience.TECHNICIAN),
    Step(Audience.PROGRAM_STAFF, timedelta(hours=24), Severity.CRITICAL),
)
_FARM_WEATHER = (Step(Audience.FARMER, _NOW), Step(Audience.TECHNICIAN, timedelta(minutes=30)))
DEFAULT_ROUTES: dict[str, tuple[Step, ...]] = {
    # A suspected notifiable disease is everyone's business at once.
    SUSPECTED_DISEASE: (
        Step(Audience.FARMER, _NOW),
        Step(Audience.TECHNICIAN, _NOW),
        Step(Audience.PROGRAM_STAFF, _NOW),
    ),
    REGIONAL_OUTBREAK: (Step(Audience.TECHNICIAN, _NOW), Step(Audience.PROGRAM_STAFF, _NOW)),
    # The farmer can check the power and the router; the rest is the technician's job.
    GATEWAY_OFFLINE: (Step(Audience.FARMER, timedelta(minutes=30)), *_TECH_FIRST),
    SENSOR_FAULT: _TECH_FIRST,
    SENSOR_DRIFT: _TECH_FIRST,
    CAMERA_BLIND: _TECH_FIRST,
    OUTBOX_BACKLOG: _TECH_FIRST,
    CLOCK_SKEW: _TECH_FIRST,
    # Heat is the farmer's to act on today, with the technician's help; programme staff act on
    # disease, not on the weather (a summer's heat stress stays open for days and reached their
    # digest a day on).
    HEAT_STRESS: _FARM_WEATHER,
    HEAT_WAVE: _FARM_WEATHER,
    # A question about a written value goes to whoever wrote it, and to nobody else.
    RECORD_SUSPECT: (Step(Audience.FARMER, _NOW),),
    # A dead bird seen only by a camera whose reports keep being rejected is a note: the farmer
    # sees it in the app and in the evening digest; the technician sees the camera in the console.
    DEAD_BIRD: (Step(Audience.FARMER, _NOW, Severity.INFO), *DEFAULT_STEPS[1:]),
}

# While the covering alert is live for the same farm and house, these need no SMS of their
# own: the suspected-disease message already says "isolate and call the vet". They are
# still alerts in the app.
COVERED_BY: dict[str, frozenset[str]] = {
    SUSPECTED_DISEASE: frozenset({MORTALITY, WATER_DROP, WATER_FLAT, EGG_DROP}),
}

# Daily rules (flock, NH3 drift) are judged once a day: resolve after a full clear day, not 30 minutes.
# Heat stress and humidity in a hill-county summer come back every afternoon and every wet
# spell: one alert per stretch (it re-notifies when it gets worse), not one SMS per afternoon.
# Measured in the 30-day demo: these two were 93 % of 1,936 SMS with a 30-minute hold.
CHRONIC_CLIMATE = (HEAT_STRESS, HEAT_WAVE, HUMIDITY_RANGE)
DEFAULT_HOLDS: dict[str, timedelta] = {
    kind: timedelta(hours=24)
    for kind in (*FLOCK_TYPES, *CHRONIC_CLIMATE, SENSOR_DRIFT, RECORD_SUSPECT)
}


@dataclass(frozen=True)
class LifecyclePolicy:
    hold: timedelta = timedelta(minutes=30)
    holds: dict[str, timedelta] = field(default_factory=lambda: dict(DEFAULT_HOLDS))
    # A recurrence this soon after resolving reopens the same alert and does not re-notify.
    cooldown: timedelta = timedelta(hours=6)
    steps: tuple[Step, ...] = DEFAULT_STEPS
    routes: dict[str, tuple[Step, ...]] = field(default_factory=lambda: dict(DEFAULT_ROUTES))
    # Storm protection: at most this many new-alert notifications per farm (or region) per
    # window; the rest are held back and summarised in one digest. Critical alerts pass.
    storm_limit: int = 5
    storm_window: timedelta = timedelta(hours=1)
    digest_after: timedelta = timedelta(minutes=10)  # then one SMS says how many were held
    # An alert nobody has judged for this long (flock sold, house emptied, sensor removed) is
    # closed as expired; silence never resolves it sooner (gateway_offline covers silence).
    expire_after: timedelta = timedelta(days=7)

    def hold_for(self, kind: str) -> timedelta:
        return self.holds.get(kind, self.hold)

    def steps_for(self, kind: str) -> tuple[Step, ...]:
        return self.routes.get(kind, self.steps)
