"""Alert records and where they are kept: a small Protocol, an in-memory implementation.

The database implementation plugs in behind `AlertStore` once the schema exists; the
engine never knows which one it has.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from cloud.alerts.model import AlertKey, Finding, Severity


class State(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    action: str
    actor: str = "engine"
    detail: str = ""


@dataclass
class Alert:
    id: str
    key: AlertKey
    severity: Severity
    state: State
    opened_at: datetime
    first: Finding
    last: Finding
    last_seen_at: datetime
    trigger_count: int = 1
    cleared_since: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    escalation_from: datetime | None = None  # opened or reopened at
    notified: dict[str, Severity] = field(default_factory=dict)  # audience -> highest told
    audit: list[AuditEntry] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.state is not State.RESOLVED

    def log(self, at: datetime, action: str, actor: str = "engine", detail: str = "") -> None:
        self.audit.append(AuditEntry(at, action, actor, detail))

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "farm": self.key.farm,
            "house": self.key.house,
            "region": self.key.region,
            "subject": self.key.subject,
            "type": self.key.type,
            "severity": self.severity.label,
            "state": self.state.value,
            "opened_at": self.opened_at.isoformat(),
            "last_seen_at": self.last_seen_at.isoformat(),
            "resolved_at": None if self.resolved_at is None else self.resolved_at.isoformat(),
            "acknowledged_by": self.acknowledged_by,
            "trigger_count": self.trigger_count,
            "rule": self.first.rule,
            "value": self.first.value,
            "threshold": self.first.threshold,
            "evidence": dict(self.first.evidence),
        }


USER_ACTOR = "user:"  # an app user's actions are logged as user:<id>; SMS replies as sms:<phone>


def user_actor(user_id: int) -> str:
    return f"{USER_ACTOR}{user_id}"


def actor_user(actor: str | None) -> int | None:
    """The app user behind an actor, None for the engine, an SMS reply or anything else."""
    if actor is None or not actor.startswith(USER_ACTOR):
        return None
    digits = actor.removeprefix(USER_ACTOR)
    return int(digits) if digits.isdigit() else None


def alert_id(key: AlertKey, opened_at: datetime) -> str:
    """Deterministic, so replaying the same data yields the same ids (idempotent sends)."""
    raw = f"{key}|{opened_at.isoformat()}".encode()
    return hashlib.sha256(raw).hexdigest()[:16]


class AlertStore(Protocol):
    def get(self, alert_id: str) -> Alert | None: ...

    def current(self, key: AlertKey) -> Alert | None:
        """The newest alert for this key, active or resolved."""
        ...

    def save(self, alert: Alert) -> None: ...

    def active(self) -> list[Alert]: ...

    def overlapping(self, since: datetime, until: datetime) -> list[Alert]:
        """Alerts that were live at some point in [since, until]."""
        ...


class MemoryAlertStore:
    def __init__(self) -> None:
        self._by_id: dict[str, Alert] = {}
        self._current: dict[AlertKey, str] = {}

    def get(self, alert_id: str) -> Alert | None:
        return self._by_id.get(alert_id)

    def current(self, key: AlertKey) -> Alert | None:
        found = self._current.get(key)
        return None if found is None else self._by_id[found]

    def save(self, alert: Alert) -> None:
        self._by_id[alert.id] = alert
        newest = self.current(alert.key)
        if newest is None or newest.opened_at <= alert.opened_at:
            self._current[alert.key] = alert.id

    def active(self) -> list[Alert]:
        return [a for a in self._by_id.values() if a.active]

    def overlapping(self, since: datetime, until: datetime) -> list[Alert]:
        return [
            a
            for a in self.all()
            if a.opened_at <= until and (a.resolved_at is None or a.resolved_at >= since)
        ]

    def all(self) -> list[Alert]:
        return sorted(self._by_id.values(), key=lambda a: (a.opened_at, a.id))
