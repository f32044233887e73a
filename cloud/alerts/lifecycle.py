"""The alert lifecycle as a state machine driven by event time.

open -> acknowledged -> resolved, with auto-resolve once a condition has stayed clear for
a hold time, one live alert per key, cooldown reopening, escalation by schedule and storm
protection. Every call returns the effects it caused (transitions and notifications to
send); sending them is someone else's job, so this module does no I/O.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from cloud.alerts.model import AlertKey, Finding, Severity
from cloud.alerts.policy import Audience, LifecyclePolicy, Step
from cloud.alerts.rules.result import Evaluation
from cloud.alerts.store import Alert, AlertStore, MemoryAlertStore, State, alert_id

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Transition:
    """Something happened to an alert (for the app stream and the audit log)."""

    alert_id: str
    kind: str  # opened | reopened | severity_raised | acknowledged | cleared | resolved
    at: datetime
    state: State


@dataclass(frozen=True)
class Notify:
    """Tell an audience about an alert. `dedup_key` makes sending idempotent."""

    alert_id: str
    audience: Audience
    reason: str  # opened | escalated | severity_raised | digest
    severity: Severity
    at: datetime
    scope: str
    suppressed: int = 0  # digest only: how many notifications it stands for

    @property
    def dedup_key(self) -> str:
        return f"{self.alert_id}:{self.audience.value}:{self.severity.label}"


Effect = Transition | Notify


@dataclass(frozen=True)
class EngineState:
    """The engine's own memory (storm windows, held digests), to undo a rolled-back unit of work."""

    storm: dict[str, deque[datetime]]
    held: dict[str, _Held]
    suppressed: int


class AlertEngine:
    def __init__(
        self, policy: LifecyclePolicy | None = None, store: AlertStore | None = None
    ) -> None:
        self.policy = policy or LifecyclePolicy()
        self.store: AlertStore = store if store is not None else MemoryAlertStore()
        self._storm: dict[str, deque[datetime]] = {}
        self._held: dict[str, _Held] = {}
        self.suppressed = 0

    # --- inputs -----------------------------------------------------------------

    def apply(self, evaluation: Evaluation) -> list[Effect]:
        effects: list[Effect] = []
        for finding in evaluation.findings:
            effects += self.observe(finding)
        for key in evaluation.cleared:
            effects += self.clear(key, evaluation.at)
        return effects

    def observe(self, finding: Finding, told: frozenset[Audience] = frozenset()) -> list[Effect]:
        """A rule found the condition at `finding.at`.

        `told`: audiences already told of it by other means (the gateway's own SMS during an
        outage): marked as notified before anything is due, so nobody texts them again.
        """
        alert = self.store.current(finding.key)
        if alert is not None and alert.active:
            return self._update(alert, finding, told)
        cooldown_end = (
            None
            if alert is None or alert.resolved_at is None
            else alert.resolved_at + self.policy.cooldown
        )
        if alert is not None and alert.resolved_at is not None and finding.at <= alert.resolved_at:
            if finding.at > alert.last_seen_at:  # new to us, but from before it was resolved
                alert.log(finding.at, "late_evidence", detail=finding.rule)
                alert.last, alert.last_seen_at = finding, finding.at
                alert.trigger_count += 1
                self.store.save(alert)
            return []  # (evidence it already had, read again, changes nothing)
        if alert is not None and cooldown_end is not None and finding.at < cooldown_end:
            return self._reopen(alert, finding, told)
        return self._open(finding, told)

    def clear(self, key: AlertKey, at: datetime) -> list[Effect]:
        """A rule judged the condition absent at `at`."""
        alert = self.store.current(key)
        if alert is None or not alert.active or at <= alert.last_seen_at:
            return []  # nothing open, or a stale verdict from before the latest trigger
        effects: list[Effect] = []
        if alert.cleared_since is None:
            alert.cleared_since = at
            alert.log(at, "cleared")
            effects.append(Transition(alert.id, "cleared", at, alert.state))
        effects += self._maybe_resolve(alert, at)
        self.store.save(alert)
        return effects

    def note(self, key: AlertKey, at: datetime, action: str, actor: str, detail: str = "") -> None:
        """Add a line to the live alert's log without changing its state (the gateway's local
        alarm sounded for it, say); nothing when no alert is live or the line is there already."""
        alert = self.store.current(key)
        if alert is None or not alert.active:
            return
        if any((e.at, e.action, e.actor) == (at, action, actor) for e in alert.audit):
            return
        alert.log(at, action, actor=actor, detail=detail)
        self.store.save(alert)

    def acknowledge(self, alert_id: str, by: str, at: datetime) -> list[Effect]:
        alert = self.store.get(alert_id)
        if alert is None:
            raise KeyError(f"no alert {alert_id!r}")
        if alert.state is not State.OPEN:
            return []  # already acknowledged or resolved: a second "1" by SMS is harmless
        alert.state = State.ACKNOWLEDGED
        alert.acknowledged_at, alert.acknowledged_by = at, by
        alert.log(at, "acknowledged", actor=by)
        self.store.save(alert)
        return [Transition(alert.id, "acknowledged", at, alert.state)]

    def resolve(self, alert_id: str, by: str, at: datetime) -> list[Effect]:
        alert = self.store.get(alert_id)
        if alert is None:
            raise KeyError(f"no alert {alert_id!r}")
        if not alert.active:
            return []
        return self._resolve(alert, at, actor=by)

    def tick(
        self, now: datetime, scope: str | None = None, active: Sequence[Alert] | None = None
    ) -> list[Effect]:
        """Advance event time: auto-resolve held clears, escalate, send storm digests.

        `scope` (a farm id, or "region:<code>", see `scope_of`) limits this to that scope's
        alerts and digests, so a worker can tick each farm in its own transaction; `active`
        are the live alerts when the caller has read them already (once for all scopes).
        """
        effects: list[Effect] = self._digests(now, scope)
        alerts = self.store.active() if active is None else active
        if scope is not None:
            alerts = [a for a in alerts if scope_of(a.key) == scope]
        for alert in sorted(alerts, key=lambda a: a.opened_at):
            resolved = self._maybe_resolve(alert, now)
            if (
                not resolved
                and now - max(alert.last_seen_at, alert.cleared_since or alert.last_seen_at)
                > self.policy.expire_after
            ):
                resolved = self._resolve(alert, now, actor="engine:expired")
            if resolved:
                effects += resolved
                continue
            notes = self._due(alert, now, reason="escalated")
            if notes:
                self.store.save(alert)
                effects += notes
        return effects

    def held_scopes(self) -> set[str]:
        """Scopes with a storm digest still held back (ticked even without a live alert)."""
        return set(self._held)

    def checkpoint(self) -> EngineState:
        return EngineState(_copy_storm(self._storm), _copy_held(self._held), self.suppressed)

    def restore(self, state: EngineState) -> None:
        """Forget what happened since `checkpoint`: its alerts' saves were rolled back."""
        self._storm, self._held = _copy_storm(state.storm), _copy_held(state.held)
        self.suppressed = state.suppressed

    # --- transitions --------------------------------------------------------------

    def _told(self, alert: Alert, told: frozenset[Audience], at: datetime) -> None:
        for audience in sorted(told):
            known = alert.notified.get(audience.value)
            if known is None or known < alert.severity:
                alert.notified[audience.value] = alert.severity
                alert.log(at, f"told_{audience.value}", actor="gateway", detail="the gateway's own SMS")

    def _open(self, finding: Finding, told: frozenset[Audience] = frozenset()) -> list[Effect]:
        alert = Alert(
            id=alert_id(finding.key, finding.at),
            key=finding.key,
            severity=finding.severity,
            state=State.OPEN,
            opened_at=finding.at,
            first=finding,
            last=finding,
            last_seen_at=finding.at,
            escalation_from=finding.at,
        )
        alert.log(finding.at, "opened", detail=f"{finding.rule} {finding.severity.label}")
        self._told(alert, told, finding.at)
        effects: list[Effect] = [Transition(alert.id, "opened", finding.at, alert.state)]
        notes = self._due(alert, finding.at, reason="opened")
        effects += self._storm_filter(alert, notes, finding.at)
        self.store.save(alert)
        return effects

    def _reopen(self, alert: Alert, finding: Finding, told: frozenset[Audience] = frozenset()) -> list[Effect]:
        alert.state = State.OPEN
        alert.resolved_at = alert.cleared_since = None
        alert.acknowledged_at = alert.acknowledged_by = None
        alert.escalation_from = finding.at
        alert.last, alert.last_seen_at = finding, finding.at
        alert.trigger_count += 1
        alert.severity = max(alert.severity, finding.severity)
        alert.log(finding.at, "reopened", detail="recurred within cooldown")
        self._told(alert, told, finding.at)
        effects: list[Effect] = [Transition(alert.id, "reopened", finding.at, alert.state)]
        effects += self._due(alert, finding.at, reason="severity_raised")
        self.store.save(alert)
        return effects

    def _update(self, alert: Alert, finding: Finding, told: frozenset[Audience] = frozenset()) -> list[Effect]:
        if _same(finding, alert.last) and not told:
            return []  # the same verdict read again (a worker re-judging a day): nothing new
        alert.trigger_count += 1
        effects: list[Effect] = []
        if finding.at < alert.opened_at and finding.evidence.get("source") == GATEWAY_SOURCE:
            # The gateway judges every reading where the cloud judges hourly means: its event
            # time is the condition's onset (the alert keeps its id).
            alert.log(finding.at, "onset", actor="gateway", detail=f"from {alert.opened_at.isoformat()}")
            alert.opened_at, alert.first = finding.at, finding
        if finding.at >= alert.last_seen_at:
            alert.last, alert.last_seen_at = finding, finding.at
        # Only evidence newer than the "clear" verdict brings the condition back.
        if alert.cleared_since is not None and finding.at > alert.cleared_since:
            alert.cleared_since = None
            alert.log(finding.at, "recurred")
        raised = finding.severity > alert.severity
        if raised:
            alert.severity = finding.severity
            alert.log(finding.at, "severity_raised", detail=finding.severity.label)
            effects.append(Transition(alert.id, "severity_raised", finding.at, alert.state))
        self._told(alert, told, finding.at)  # at the new severity: what the gateway's SMS said
        if raised:
            effects += self._due(
                alert, max(finding.at, alert.last_seen_at), reason="severity_raised"
            )
        self.store.save(alert)
        return effects

    def _maybe_resolve(self, alert: Alert, now: datetime) -> list[Effect]:
        if alert.cleared_since is None:
            return []
        if now - alert.cleared_since < self.policy.hold_for(alert.key.type):
            return []
        return self._resolve(alert, now, actor="engine")

    def _resolve(self, alert: Alert, at: datetime, actor: str) -> list[Effect]:
        alert.state = State.RESOLVED
        alert.resolved_at = at
        alert.log(at, "resolved", actor=actor)
        self.store.save(alert)
        return [Transition(alert.id, "resolved", at, alert.state)]

    # --- notifications -------------------------------------------------------------

    def _due(self, alert: Alert, now: datetime, reason: str) -> list[Notify]:
        """Notifications owed under the route's schedule that have not been sent yet."""
        start = alert.escalation_from or alert.opened_at
        notes: list[Notify] = []
        for step in self.policy.steps_for(alert.key.type):
            if not self._step_due(alert, step, now - start):
                continue
            told = alert.notified.get(step.audience.value)
            if told is not None and told >= alert.severity:
                continue
            if told is not None:
                why = "severity_raised"
            else:
                why = "escalated" if reason == "escalated" and step.after > _ZERO else reason
            alert.notified[step.audience.value] = alert.severity
            alert.log(now, f"notify_{step.audience.value}", detail=why)
            notes.append(
                Notify(alert.id, step.audience, why, alert.severity, now, scope=scope_of(alert.key))
            )
        return notes

    def _step_due(self, alert: Alert, step: Step, elapsed: timedelta) -> bool:
        if alert.severity < step.min_severity:
            return False
        if step.after > _ZERO and alert.state is not State.OPEN:
            return False  # acknowledged: the escalation ladder stops
        return elapsed >= step.after

    def _storm_filter(self, alert: Alert, notes: Iterable[Notify], at: datetime) -> list[Effect]:
        notes = list(notes)
        if not notes or alert.severity >= Severity.CRITICAL:
            return list(notes)
        scope = scope_of(alert.key)
        window = self._storm.setdefault(scope, deque())
        while window and at - window[0] >= self.policy.storm_window:
            window.popleft()
        if len(window) < self.policy.storm_limit:
            window.append(at)
            return list(notes)
        self.suppressed += len(notes)
        alert.log(at, "storm_suppressed", detail=f"{len(notes)} notifications held back")
        log.info("storm protection: holding back %d notifications for %s", len(notes), scope)
        held = self._held.setdefault(scope, _Held(since=at, severity=alert.severity))
        held.alerts += 1
        held.audiences |= {n.audience for n in notes}
        held.severity = max(held.severity, alert.severity)
        return []

    def _digests(self, now: datetime, only: str | None = None) -> list[Effect]:
        """One summary per farm once its storm has been held for `digest_after`, with the count."""
        out: list[Effect] = []
        for scope, held in list(self._held.items()):
            if only is not None and scope != only:
                continue
            if now - held.since < self.policy.digest_after:
                continue
            del self._held[scope]
            digest_id = f"storm-{scope}-{held.since:%Y%m%d%H%M}"
            out += [
                Notify(digest_id, aud, "digest", held.severity, now, scope, held.alerts)
                for aud in sorted(held.audiences)
            ]
        return out


@dataclass
class _Held:
    since: datetime
    severity: Severity
    alerts: int = 0
    audiences: set[Audience] = field(default_factory=set)


_ZERO = timedelta(0)
GATEWAY_SOURCE = "gateway"  # Finding.evidence["source"] of a gateway's own rule (cloud/alerts/gateway_events.py)


# Taken once per unit of work: copies of the containers only (datetimes are immutable).
def _copy_storm(storm: dict[str, deque[datetime]]) -> dict[str, deque[datetime]]:
    return {scope: deque(window) for scope, window in storm.items()}


def _copy_held(held: dict[str, _Held]) -> dict[str, _Held]:
    return {scope: replace(h, audiences=set(h.audiences)) for scope, h in held.items()}


def _same(a: Finding, b: Finding) -> bool:
    return (a.at, a.rule, a.severity, a.value) == (b.at, b.rule, b.severity, b.value)


def scope_of(key: AlertKey) -> str:
    """Whose alert this is: the farm, or "region:<code>" for a regional one."""
    return key.farm if key.farm is not None else f"region:{key.region}"
