from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

import pytest

from cloud.alerts.lifecycle import AlertEngine, Notify, Transition
from cloud.alerts.model import NH3_HIGH, AlertKey, Finding, Severity
from cloud.alerts.policy import Audience, LifecyclePolicy
from cloud.alerts.store import MemoryAlertStore, State
from tests.alerts.factories import T0

KEY = AlertKey("farm-1", "h1", NH3_HIGH)
MIN = timedelta(minutes=1)


def _finding(at_min: float, severity: Severity = Severity.WARNING, key: AlertKey = KEY) -> Finding:
    return Finding(
        key=key,
        severity=severity,
        at=T0 + at_min * MIN,
        rule="nh3_above",
        value=22.0,
        threshold=20.0,
    )


def _notes(effects: Sequence[object]) -> list[Notify]:
    return [e for e in effects if isinstance(e, Notify)]


def _engine() -> tuple[AlertEngine, MemoryAlertStore]:
    store = MemoryAlertStore()
    return AlertEngine(LifecyclePolicy(), store), store


def test_storm_of_1000_readings_in_ten_minutes_is_one_alert_one_message_per_audience() -> None:
    engine, store = _engine()
    effects: list[object] = []
    for i in range(1000):
        effects += engine.observe(_finding(i * 0.01, Severity.WARNING))  # one each 0.6 s
        if i % 100 == 0:
            effects += engine.tick(T0 + i * 0.01 * MIN)
    assert len(store.all()) == 1
    alert = store.all()[0]
    assert alert.trigger_count == 1000
    per_audience = Counter(n.audience for n in _notes(effects))
    assert per_audience == {Audience.FARMER: 1}  # technician only after 30 unacknowledged minutes
    assert len({n.dedup_key for n in _notes(effects)}) == len(_notes(effects))


def test_escalation_schedule_and_acknowledgement() -> None:
    engine, store = _engine()
    engine.observe(_finding(0))
    alert_id = store.all()[0].id
    assert _notes(engine.tick(T0 + 29 * MIN)) == []
    escalated = _notes(engine.tick(T0 + 30 * MIN))
    assert [(n.audience, n.reason) for n in escalated] == [(Audience.TECHNICIAN, "escalated")]
    assert _notes(engine.tick(T0 + 90 * MIN)) == []  # programme staff only for critical

    engine2, store2 = _engine()
    engine2.observe(_finding(0, Severity.CRITICAL))
    engine2.acknowledge(store2.all()[0].id, by="farmer:13800000000", at=T0 + 10 * MIN)
    assert _notes(engine2.tick(T0 + 120 * MIN)) == []  # acknowledged: the ladder stops
    assert store2.all()[0].state is State.ACKNOWLEDGED
    assert engine2.acknowledge(store2.all()[0].id, by="x", at=T0 + 11 * MIN) == []
    with pytest.raises(KeyError):
        engine.acknowledge("nope", by="x", at=T0)
    assert alert_id


def test_critical_reaches_programme_staff_after_a_day_unacknowledged() -> None:
    """One farm's emergency is the farmer's and technician's; staff hear of it a day on."""
    engine, _ = _engine()
    engine.observe(_finding(0, Severity.CRITICAL))
    tech = _notes(engine.tick(T0 + 30 * MIN))
    assert [n.audience for n in tech] == [Audience.TECHNICIAN]
    assert _notes(engine.tick(T0 + 23 * 60 * MIN)) == []
    staff = _notes(engine.tick(T0 + 24 * 60 * MIN))
    assert [n.audience for n in staff] == [Audience.PROGRAM_STAFF]


def test_an_emergency_cleared_within_the_day_never_reaches_programme_staff() -> None:
    engine, store = _engine()
    engine.observe(_finding(0, Severity.CRITICAL))
    told = _notes(engine.tick(T0 + 2 * 60 * MIN))
    engine.clear(KEY, T0 + 4 * 60 * MIN)  # ventilation back after 4 h
    told += _notes(engine.tick(T0 + 5 * 60 * MIN))
    assert store.all()[0].state is State.RESOLVED
    told += _notes(engine.tick(T0 + 25 * 60 * MIN))
    assert [n.audience for n in told] == [Audience.TECHNICIAN]


def test_auto_resolve_after_hold_and_recurrence_resets_it() -> None:
    engine, store = _engine()
    engine.observe(_finding(0))
    engine.clear(KEY, T0 + 5 * MIN)
    engine.observe(_finding(10))  # back again: the clear no longer counts
    engine.clear(KEY, T0 + 15 * MIN)
    assert engine.tick(T0 + 44 * MIN) == [] or store.all()[0].state is not State.RESOLVED
    resolved = [e for e in engine.tick(T0 + 45 * MIN) if isinstance(e, Transition)]
    assert [t.kind for t in resolved] == ["resolved"]
    assert store.all()[0].resolved_at == T0 + 45 * MIN


def test_stale_clear_from_late_data_is_ignored() -> None:
    engine, store = _engine()
    engine.observe(_finding(30))
    assert engine.clear(KEY, T0 + 20 * MIN) == []  # judged before the latest trigger
    assert store.all()[0].cleared_since is None


def test_cooldown_reopens_without_a_new_message() -> None:
    engine, store = _engine()
    engine.observe(_finding(0))
    engine.clear(KEY, T0 + 1 * MIN)
    engine.tick(T0 + 31 * MIN)
    first = store.all()[0]
    assert first.state is State.RESOLVED
    effects = engine.observe(_finding(90))  # within the 6 h cooldown
    assert _notes(effects) == []
    assert [e.kind for e in effects if isinstance(e, Transition)] == ["reopened"]
    assert len(store.all()) == 1 and store.all()[0].state is State.OPEN
    engine.clear(KEY, T0 + 91 * MIN)
    engine.tick(T0 + 121 * MIN)
    later = engine.observe(_finding(121 + 7 * 60))  # after the cooldown: a new alert
    assert [n.audience for n in _notes(later)] == [Audience.FARMER]
    assert len(store.all()) == 2


def test_late_finding_for_a_resolved_alert_is_evidence_not_a_reopen() -> None:
    engine, store = _engine()
    engine.observe(_finding(0))
    engine.clear(KEY, T0 + 1 * MIN)
    engine.tick(T0 + 40 * MIN)
    assert engine.observe(_finding(20)) == []
    assert store.all()[0].audit[-1].action == "late_evidence"
    audit = len(store.all()[0].audit)
    assert engine.observe(_finding(0)) == []  # evidence it already had, read again: nothing
    assert engine.observe(_finding(20)) == []
    assert len(store.all()[0].audit) == audit


def test_severity_raise_tells_the_farmer_again_once() -> None:
    engine, _ = _engine()
    engine.observe(_finding(0, Severity.WARNING))
    raised = _notes(engine.observe(_finding(5, Severity.CRITICAL)))
    assert [(n.audience, n.reason, n.severity) for n in raised] == [
        (Audience.FARMER, "severity_raised", Severity.CRITICAL)
    ]
    assert _notes(engine.observe(_finding(6, Severity.CRITICAL))) == []


def test_storm_protection_across_many_alert_types_sends_one_digest() -> None:
    engine, store = _engine()
    notes: list[Notify] = []
    for i in range(12):
        key = AlertKey("farm-1", f"h{i}", NH3_HIGH)
        notes += _notes(engine.observe(_finding(i, key=key)))
    individual = [n for n in notes if n.reason == "opened"]
    assert len(individual) == LifecyclePolicy().storm_limit
    assert len(store.all()) == 12  # every alert is kept and shown in the app
    assert engine.suppressed == 12 - LifecyclePolicy().storm_limit
    critical = _notes(
        engine.observe(_finding(12, Severity.CRITICAL, AlertKey("farm-1", "hx", NH3_HIGH)))
    )
    assert [n.reason for n in critical] == ["opened"]  # critical is never held back
    # The digest waits until the storm has been held for 10 minutes, then counts it all.
    assert [n for n in _notes(engine.tick(T0 + 14 * MIN)) if n.reason == "digest"] == []
    digests = [n for n in _notes(engine.tick(T0 + 15 * MIN)) if n.reason == "digest"]
    assert [(d.audience, d.suppressed) for d in digests] == [(Audience.FARMER, 7)]
    assert [n for n in _notes(engine.tick(T0 + 30 * MIN)) if n.reason == "digest"] == []


def test_audit_trail_records_each_step() -> None:
    engine, store = _engine()
    engine.observe(_finding(0))
    alert_id = store.all()[0].id
    engine.acknowledge(alert_id, by="farmer:1", at=T0 + 2 * MIN)
    engine.resolve(alert_id, by="tech:2", at=T0 + 3 * MIN)
    actions = [(a.action, a.actor) for a in store.all()[0].audit]
    assert actions == [
        ("opened", "engine"),
        ("notify_farmer", "engine"),
        ("acknowledged", "farmer:1"),
        ("resolved", "tech:2"),
    ]


def test_ids_are_deterministic_for_replays() -> None:
    a, store_a = _engine()
    b, store_b = _engine()
    for engine in (a, b):
        engine.observe(_finding(3))
    assert store_a.all()[0].id == store_b.all()[0].id


def test_rejudging_an_old_day_does_not_undo_its_clear() -> None:
    engine, store = _engine()
    day2 = _finding(0)
    engine.observe(day2)
    engine.clear(KEY, T0 + 60 * MIN)  # the next day was clear
    for _ in range(3):  # a worker reads both days again every cycle
        assert engine.observe(day2) == []
        engine.clear(KEY, T0 + 60 * MIN)
    alert = store.all()[0]
    assert alert.cleared_since == T0 + 60 * MIN and alert.trigger_count == 1
    assert [a.action for a in alert.audit].count("cleared") == 1


def test_an_alert_nobody_judges_any_more_expires_after_a_week() -> None:
    engine, store = _engine()
    engine.observe(_finding(0))
    engine.tick(T0 + timedelta(days=6))
    assert store.all()[0].state is State.OPEN  # silence is not recovery...
    engine.tick(T0 + timedelta(days=7, minutes=1))
    alert = store.all()[0]
    assert (
        alert.state is State.RESOLVED and alert.audit[-1].actor == "engine:expired"
    )  # ...for a while


def test_restoring_a_checkpoint_forgets_the_storm_of_a_rolled_back_unit() -> None:
    """The worker undoes a farm's failed unit of work: its held-back alerts must not be digested."""
    engine, _ = _engine()
    for i in range(LifecyclePolicy().storm_limit):  # the farm's hour of SMS is used up
        engine.observe(_finding(i, key=AlertKey("farm-1", f"h{i}", NH3_HIGH)))
    state = engine.checkpoint()
    for i in range(3):  # held back, in a unit whose saves are then rolled back
        engine.observe(_finding(10 + i, key=AlertKey("farm-1", f"x{i}", NH3_HIGH)))
    assert engine.suppressed == 3 and engine.held_scopes() == {"farm-1"}
    engine.restore(state)
    assert engine.suppressed == 0 and engine.held_scopes() == set()
    assert [n for n in _notes(engine.tick(T0 + 30 * MIN, "farm-1")) if n.reason == "digest"] == []
    # The window still counts the five that were sent: a sixth is held back again.
    assert _notes(engine.observe(_finding(20, key=AlertKey("farm-1", "y", NH3_HIGH)))) == []


def test_tick_by_scope_touches_only_that_farm() -> None:
    engine, store = _engine()
    other = AlertKey("farm-2", "h1", NH3_HIGH)
    engine.observe(_finding(0))
    engine.observe(_finding(0, key=other))
    escalated = _notes(engine.tick(T0 + 31 * MIN, "farm-2"))
    assert [(n.alert_id, n.audience) for n in escalated] == [
        (store.current(other).id, Audience.TECHNICIAN)  # type: ignore[union-attr]
    ]
    assert [n.audience for n in _notes(engine.tick(T0 + 31 * MIN))] == [Audience.TECHNICIAN]
