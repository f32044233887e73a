"""Gateway rule events as alerts: one alert per condition whoever saw it first, onset from the
gateway, and a farmer the gateway's modem already told is not texted again (pure, in memory)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from cloud.alerts.gateway_events import GatewayEvent
from cloud.alerts.lifecycle import AlertEngine, Notify
from cloud.alerts.model import HEAT_STRESS, AlertKey, EnvSample, Finding, Severity
from cloud.alerts.policy import Audience
from cloud.alerts.service import AlertService, FarmInfo
from cloud.alerts.store import MemoryAlertStore, State
from cloud.notify.budget import Action, Told, decide
from cloud.notify.dispatch import Dispatcher
from cloud.notify.ledger import MemoryLedger
from cloud.notify.outbox import MemoryOutboxStore, Outbox
from cloud.notify.recipients import MemoryDirectory, Recipient
from cloud.notify.settings import PrintProvider
from tests.alerts.factories import T0

MIN = timedelta(minutes=1)
KEY = AlertKey("farm-1", "h1", HEAT_STRESS)  # a feathered flock's hot house
FARMER = Recipient("farmer-1", "+8613800000001", Audience.FARMER, farms=frozenset({"farm-1"}))


def _event(at: datetime, seq: int = 1, *, type: str = "temperature_emergency", alarm: str | None = None,
           since: datetime | None = None, sms_to: tuple[str, ...] = (), value: float = 36.4) -> GatewayEvent:
    severity = "info" if type.endswith("_cleared") else "critical"
    return GatewayEvent("gw-1", seq, "farm-1", at, type, severity, "h1", value, 35.0, alarm, since, sms_to)


def _cloud_hot(at: datetime) -> Finding:
    return Finding(KEY, Severity.CRITICAL, at, "thi_emergency", 34.5, 30.5, {"band": "emergency"})


def _stack() -> tuple[AlertService, MemoryAlertStore, Dispatcher, Outbox]:
    store = MemoryAlertStore()
    engine = AlertEngine(store=store)
    outbox = Outbox(MemoryOutboxStore(), PrintProvider())
    dispatcher = Dispatcher(MemoryDirectory([FARMER], {"farm-1": "t1"}), outbox, store, ledger=MemoryLedger())
    service = AlertService(engine, {"farm-1": FarmInfo("farm-1", "F1", "t1")})
    return service, store, dispatcher, outbox


def _farmer_notes(effects: Sequence[object]) -> list[Notify]:
    return [e for e in effects if isinstance(e, Notify) and e.audience is Audience.FARMER]


def test_cloud_first_then_the_gateway_event_is_the_same_alert_with_the_gateway_onset() -> None:
    service, store, _, _ = _stack()
    opened = service.engine.observe(_cloud_hot(T0 + 60 * MIN))  # the hourly mean, stamped at hour end
    assert len(_farmer_notes(opened)) == 1
    later = service.gateway_event(_event(T0 + 12 * MIN))  # uploaded late, seen at 00:12
    assert _farmer_notes(later) == []
    (alert,) = store.all()
    assert alert.opened_at == T0 + 12 * MIN  # the gateway's event time is the onset
    assert alert.first.evidence["source"] == "gateway" and alert.trigger_count == 2
    assert any(a.action == "onset" for a in alert.audit)


def test_gateway_first_then_the_cloud_rule_is_the_same_alert() -> None:
    service, store, _, _ = _stack()
    first = service.gateway_event(_event(T0 + 12 * MIN))
    assert len(_farmer_notes(first)) == 1  # link was up: the cloud tells the farmer
    samples = [EnvSample(T0 + 60 * MIN, temperature_c=36.2, humidity_pct=60.0)]
    later = service.environment("farm-1", "h1", samples, T0 + 60 * MIN, "ross308", 2300.0, 35)
    assert _farmer_notes(later) == []
    alerts = [a for a in store.all() if a.key == KEY]
    assert len(alerts) == 1 and alerts[0].opened_at == T0 + 12 * MIN
    assert alerts[0].last.rule == "thi_emergency" and alerts[0].trigger_count == 2


def test_local_sms_marks_the_farmer_told_and_the_ledger_keeps_it() -> None:
    service, store, dispatcher, outbox = _stack()
    onset, reported = T0 + 12 * MIN, T0 + 12 * MIN + 20_000 * timedelta(microseconds=1000)
    # The buffered events arrive after the outage: the rule's firing, then the alarm's report.
    effects = service.gateway_event(_event(onset, 1))
    effects += service.gateway_event(_event(reported, 2, alarm="on", since=onset, sms_to=(FARMER.phone,)))
    alert = store.current(KEY)
    assert alert is not None
    dispatcher.record_local_sms(alert, (FARMER.phone,), reported, "gw-1", 2)
    # Both events are judged in one unit: the farmer's notification is decided after the
    # ledger knows the gateway texted them, so the cloud sends nothing.
    dispatcher.handle(effects, reported)
    assert outbox.store.messages == {}  # type: ignore[attr-defined]
    entries = dispatcher.ledger.recent(T0)
    assert [(e.action, e.recipient) for e in entries if e.key.startswith("gateway-sms:")] == [
        (Action.SENT, "farmer-1")]
    # A heat-stress alert on the same house an hour later is the same climate condition.
    heat = Finding(AlertKey("farm-1", "h1", HEAT_STRESS), Severity.CRITICAL, T0 + 70 * MIN, "thi_emergency", 31.0, 30.0)
    dispatcher.handle(service.engine.observe(heat), T0 + 70 * MIN)
    assert outbox.store.messages == {}  # type: ignore[attr-defined]


def test_report_alone_opens_the_alert_at_the_onset_with_the_farmer_told() -> None:
    """The firing's message was dropped or judged in an earlier cycle that failed: the report
    carries the onset and who was told, so no SMS goes when the alert opens."""
    service, store, _, _ = _stack()
    effects = service.gateway_event(_event(T0 + 13 * MIN, 2, alarm="on", since=T0 + 12 * MIN,
                                           sms_to=(FARMER.phone,)))
    assert _farmer_notes(effects) == []
    alert = store.current(KEY)
    assert alert is not None and alert.opened_at == T0 + 12 * MIN
    assert alert.notified == {"farmer": Severity.CRITICAL}


def test_farm_acknowledgement_and_clear_reach_the_alert() -> None:
    service, store, _, _ = _stack()
    service.gateway_event(_event(T0, 1))
    service.gateway_event(_event(T0 + 5 * MIN, 2, alarm="acknowledged", since=T0))
    alert = store.current(KEY)
    assert alert is not None and alert.state is State.ACKNOWLEDGED and alert.acknowledged_by == "gateway:gw-1"
    # Acknowledged: the technician's escalation stops.
    assert [n for n in service.engine.tick(T0 + 40 * MIN) if isinstance(n, Notify)] == []
    service.gateway_event(_event(T0 + 50 * MIN, 3, type="temperature_emergency_cleared", value=33.0))
    assert alert.cleared_since == T0 + 50 * MIN
    service.engine.tick(T0 + 50 * MIN + service.engine.policy.hold_for(KEY.type))  # heat holds a day
    assert alert.state is State.RESOLVED


def test_unknown_gateway_rule_is_ignored() -> None:
    service, store, _, _ = _stack()
    assert service.gateway_event(_event(T0, type="door_open")) == []
    assert store.all() == []


def test_budget_suppresses_what_the_gateway_told_but_not_something_worse_or_old() -> None:
    told = [Told(T0, Severity.CRITICAL, local=True)]
    same = decide(Audience.FARMER, Severity.CRITICAL, T0 + 60 * MIN, told, 0)
    assert same.action is Action.SUPPRESSED and "gateway" in same.reason
    stale = decide(Audience.FARMER, Severity.CRITICAL, T0 + 7 * 60 * MIN, told, 0)
    assert stale.action is Action.SENT  # the outage was hours ago: a critical reaches the farmer
    warned = [Told(T0, Severity.WARNING, local=True)]
    assert decide(Audience.FARMER, Severity.CRITICAL, T0 + MIN, warned, 0).action is Action.SENT
