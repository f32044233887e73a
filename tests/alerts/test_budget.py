"""The SMS budget per person: each rule on its own (pure), then the dispatcher against it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cloud.alerts.lifecycle import AlertEngine
from cloud.alerts.model import (
    HEAT_STRESS,
    HEAT_WAVE,
    NH3_HIGH,
    REGIONAL_OUTBREAK,
    SUSPECTED_DISEASE,
    TEMPERATURE_BAND,
    WEIGHT_GAIN_SLOW,
    AlertKey,
    Finding,
    Severity,
)
from cloud.alerts.policy import Audience, LifecyclePolicy
from cloud.alerts.store import MemoryAlertStore
from cloud.notify.budget import (
    DEFAULT_BUDGETS,
    REMEMBER,
    TRENDS,
    Action,
    Told,
    condition,
    decide,
    digest_cutoff,
    digest_worth_sending,
)
from cloud.notify.dispatch import Dispatcher
from cloud.notify.ledger import MemoryLedger
from cloud.notify.outbox import MemoryOutboxStore, Outbox
from cloud.notify.providers import GenericHttpProvider
from cloud.notify.recipients import MemoryDirectory, Recipient

NOW = datetime(2026, 7, 10, 6, 0, tzinfo=UTC)  # 14:00 in China
W, C = Severity.WARNING, Severity.CRITICAL
FARMER, TECH, STAFF = Audience.FARMER, Audience.TECHNICIAN, Audience.PROGRAM_STAFF


# --- persistent conditions -------------------------------------------------------------------

def test_a_condition_already_told_is_a_digest_line_not_an_sms() -> None:
    told = [Told(NOW - timedelta(days=1), W)]
    d = decide(FARMER, W, NOW, told, sent_today=0)
    assert d.action is Action.HELD and d.repeat and d.reason.startswith("repeat")


def test_a_condition_that_got_worse_is_told_again() -> None:
    told = [Told(NOW - timedelta(hours=5), W)]
    assert decide(FARMER, C, NOW, told, 0).action is Action.SENT
    assert decide(TECH, C, NOW, told, 0).reason == "critical, worse than told"


def test_a_condition_quiet_for_the_memory_and_back_is_news_again() -> None:
    told = [Told(NOW - REMEMBER - timedelta(minutes=1), W)]
    d = decide(FARMER, W, NOW, told, 0)
    assert d.action is Action.SENT and not d.repeat


def test_a_critical_repeat_still_reaches_the_farmer_but_not_the_technician_again() -> None:
    told = [Told(NOW - timedelta(hours=12), C)]
    assert decide(FARMER, C, NOW, told, 0).action is Action.SENT
    tech = decide(TECH, C, NOW, told, 0)
    assert tech.action is Action.HELD and tech.repeat


def test_one_hot_house_is_one_condition_and_the_weather_one_for_a_technician() -> None:
    heat, band = AlertKey("f1", "h1", HEAT_STRESS), AlertKey("f1", "h1", TEMPERATURE_BAND)
    assert condition(heat, FARMER) == condition(band, FARMER) != condition(AlertKey("f1", "h2", HEAT_STRESS), FARMER)
    assert condition(heat, TECH) == condition(AlertKey("f9", "h3", TEMPERATURE_BAND), STAFF)
    assert condition(AlertKey("f1", "h1", NH3_HIGH), TECH) != condition(AlertKey("f2", "h1", NH3_HIGH), TECH)


def test_a_heat_wave_is_news_to_the_farmer_beside_the_summer_heat() -> None:
    """The heat stress told all week does not make the heat wave a repeat: it is worse."""
    heat, wave = AlertKey("f1", "h1", HEAT_STRESS), AlertKey("f1", "h1", HEAT_WAVE)
    assert condition(wave, FARMER) != condition(heat, FARMER)
    assert condition(wave, FARMER) != condition(AlertKey("f2", "h1", HEAT_WAVE), FARMER)
    # For the technician it is the weather over the area, which the farmers are told of.
    assert condition(wave, TECH) == condition(AlertKey("f2", "h1", HEAT_WAVE), TECH) == condition(heat, TECH)
    held = decide(TECH, C, NOW, [Told(NOW - timedelta(hours=20), C)], 0, kind=HEAT_WAVE)
    assert held.action is Action.HELD and held.repeat
    told_heat: list[Told] = []  # the farmer's heat-wave history is empty while heat was told
    assert decide(FARMER, C, NOW, told_heat, 1, kind=HEAT_WAVE).action is Action.SENT


def test_heat_goes_to_farmer_and_technician_not_programme_staff() -> None:
    for kind in (HEAT_WAVE, HEAT_STRESS):
        steps = LifecyclePolicy().steps_for(kind)
        assert [s.audience for s in steps] == [FARMER, TECH] and steps[0].after == timedelta(0)
    assert LifecyclePolicy().hold_for(HEAT_WAVE) == timedelta(hours=24)  # one alert per wave


def test_a_trend_waits_for_the_farmers_digest_unless_critical() -> None:
    d = decide(FARMER, W, NOW, [], 0, today=False)
    assert d.action is Action.HELD and "trend" in d.reason and not d.repeat
    assert decide(FARMER, C, NOW, [], 0, today=False).action is Action.SENT
    assert WEIGHT_GAIN_SLOW in TRENDS


# --- roles -----------------------------------------------------------------------------------

def test_technicians_and_programme_staff_get_warnings_in_the_digest_and_critical_at_once() -> None:
    for role in (TECH, STAFF):
        assert decide(role, W, NOW, [], 0, kind=SUSPECTED_DISEASE).action is Action.HELD
        assert decide(role, C, NOW, [], 0, kind=SUSPECTED_DISEASE).action is Action.SENT
    assert decide(STAFF, C, NOW, [], 0, kind=REGIONAL_OUTBREAK).action is Action.SENT


def test_programme_staff_hear_of_one_farms_other_emergencies_in_the_digest() -> None:
    for kind in (HEAT_STRESS, NH3_HIGH, ""):
        staff = decide(STAFF, C, NOW, [], 0, kind=kind)
        assert staff.action is Action.HELD and "digest" in staff.reason
        assert decide(TECH, C, NOW, [], 0, kind=kind).action is Action.SENT
        assert decide(FARMER, C, NOW, [], 0, kind=kind).action is Action.SENT


def test_a_farmer_gets_warnings_at_once_up_to_the_days_budget() -> None:
    per_day = DEFAULT_BUDGETS[FARMER].per_day
    assert decide(FARMER, W, NOW, [], per_day - 1).action is Action.SENT
    over = decide(FARMER, W, NOW, [], per_day)
    assert over.action is Action.HELD and not over.repeat and "budget" in over.reason
    assert decide(FARMER, C, NOW, [], 50).action is Action.SENT  # critical is never budgeted


def test_the_digest_covers_the_day_up_to_the_local_digest_hour() -> None:
    budget = DEFAULT_BUDGETS[TECH]
    assert digest_cutoff(NOW, budget, 8.0) == datetime(2026, 7, 9, 10, 0, tzinfo=UTC)  # yesterday 18:00
    evening = NOW.replace(hour=10, minute=1)
    assert digest_cutoff(evening, budget, 8.0) == NOW.replace(hour=10, minute=0)


def test_a_digest_of_repeats_alone_is_not_worth_an_sms() -> None:
    assert not digest_worth_sending([True, True])
    assert digest_worth_sending([True, False])


# --- the dispatcher plans against the budget -------------------------------------------------

PEOPLE = [
    Recipient("farmer", "+8613800000001", FARMER, farms=frozenset({"f1"})),
    Recipient("tech", "+8613900000001", TECH, townships=frozenset({"t1"})),
]


def _dispatcher() -> tuple[AlertEngine, Dispatcher, MemoryOutboxStore, MemoryLedger]:
    alerts = MemoryAlertStore()
    store, ledger = MemoryOutboxStore(), MemoryLedger()
    outbox = Outbox(store, GenericHttpProvider(url="http://127.0.0.1:9/sms"))  # never sent here
    dispatcher = Dispatcher(MemoryDirectory(PEOPLE, {"f1": "t1"}), outbox, alerts, ledger=ledger)
    return AlertEngine(store=alerts), dispatcher, store, ledger


def _heat(engine: AlertEngine, dispatcher: Dispatcher, at: datetime, severity: Severity = W) -> None:
    key = AlertKey("f1", "1", HEAT_STRESS)
    finding = Finding(key, severity, at, "thi_band", 30.0, 28.0, {"band": "alert"})
    dispatcher.handle(engine.observe(finding), at)
    later = at + timedelta(minutes=31)  # the technician's step comes due
    dispatcher.handle(engine.tick(later), later)


def _resolve(engine: AlertEngine, dispatcher: Dispatcher, at: datetime) -> None:
    key = AlertKey("f1", "1", HEAT_STRESS)
    dispatcher.handle(engine.clear(key, at), at)
    dispatcher.handle(engine.tick(at + timedelta(hours=25)), at + timedelta(hours=25))


def test_heat_through_a_hot_week_is_one_sms_at_onset_and_digest_lines_after() -> None:
    engine, dispatcher, store, ledger = _dispatcher()
    day = NOW
    for _ in range(4):  # a hot spell, a cool day, the heat back: through two weeks
        _heat(engine, dispatcher, day)
        _resolve(engine, dispatcher, day + timedelta(hours=4))
        day += timedelta(days=2)
    farmer_sms = [m for m in store.messages.values() if m.recipient == "farmer"]
    assert len(farmer_sms) == 1  # told once at onset
    farmer = [e for e in ledger.entries.values() if e.recipient == "farmer"]
    assert [e.action for e in farmer] == [Action.SENT, Action.HELD, Action.HELD, Action.HELD]
    assert all(e.repeat for e in farmer[1:])
    # The technician got no SMS at once: warnings wait for the evening digest.
    assert not [m for m in store.messages.values() if m.recipient == "tech"]


def test_the_technicians_warnings_go_as_one_digest_sms_a_day() -> None:
    engine, dispatcher, store, ledger = _dispatcher()
    for house in ("1", "2", "3"):
        key = AlertKey("f1", house, NH3_HIGH)
        dispatcher.handle(engine.observe(Finding(key, W, NOW, "nh3_above", 24.0, 20.0)), NOW)
    later = NOW + timedelta(minutes=31)
    dispatcher.handle(engine.tick(later), later)
    assert dispatcher.send_digests(later) == []  # not before 18:00
    evening = NOW.replace(hour=10, minute=30)
    digests = {d.recipient: d for d in dispatcher.send_digests(evening)}
    # The farmer had two at once (the day's budget); the third house waits for the digest.
    assert sorted(digests) == ["farmer", "tech"] and all(d.kind == "digest" for d in digests.values())
    assert digests["tech"].text.startswith("【富慧养】今日摘要3项：")
    assert digests["farmer"].text.startswith("【富慧养】今日摘要1项：")
    assert dispatcher.send_digests(evening + timedelta(hours=1)) == []
    tech = [e for e in ledger.entries.values() if e.recipient == "tech"]
    assert {e.digest for e in tech} == {"digest:tech:20260710"}


def test_a_day_of_repeats_alone_sends_no_digest_and_says_why() -> None:
    engine, dispatcher, store, ledger = _dispatcher()
    _heat(engine, dispatcher, NOW - timedelta(days=2))
    first = dispatcher.send_digests(NOW - timedelta(days=2) + timedelta(hours=5))  # that evening
    assert [d.recipient for d in first] == ["tech"]  # news to the technician, in the digest
    _resolve(engine, dispatcher, NOW - timedelta(days=2) + timedelta(hours=4))
    _heat(engine, dispatcher, NOW)  # back two days later: a repeat for both
    evening = NOW.replace(hour=10, minute=30)
    assert dispatcher.send_digests(evening) == []
    today = [e for e in ledger.entries.values() if e.at >= NOW]
    assert today and all(e.action is Action.SUPPRESSED for e in today)
    assert {e.reason for e in today} == {"repeat only: no digest SMS"}


def test_a_replayed_notification_is_decided_once() -> None:
    engine, dispatcher, store, ledger = _dispatcher()
    key = AlertKey("f1", "1", NH3_HIGH)
    effects = engine.observe(Finding(key, W, NOW, "nh3_above", 24.0, 20.0))
    dispatcher.handle(effects, NOW)
    dispatcher.handle(effects, NOW + timedelta(minutes=5))  # the same effects again
    assert len(ledger.entries) == 1 and len(store.messages) == 1


def test_a_digest_due_in_quiet_hours_waits_for_the_morning() -> None:
    engine, dispatcher, store, ledger = _dispatcher()
    key = AlertKey("f1", "1", NH3_HIGH)
    dispatcher.handle(engine.observe(Finding(key, W, NOW, "nh3_above", 24.0, 20.0)), NOW)
    later = NOW + timedelta(minutes=31)
    dispatcher.handle(engine.tick(later), later)
    night = NOW.replace(hour=15)  # 23:00 in China: the worker missed the evening
    digests = dispatcher.send_digests(night)
    assert [d.recipient for d in digests] == ["tech"]
    assert digests[0].not_before == datetime(2026, 7, 10, 22, 30, tzinfo=UTC)  # 06:30 local
