"""From rules through the lifecycle and dispatcher to SMS on a real local HTTP server."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest

from cloud.alerts.lifecycle import AlertEngine
from cloud.alerts.model import (
    MORTALITY,
    NH3_HIGH,
    REGIONAL_OUTBREAK,
    SUSPECTED_DISEASE,
    AlertKey,
    DailyRecord,
    Finding,
    FlockContext,
    FlockHistory,
    Severity,
)
from cloud.alerts.policy import Audience
from cloud.alerts.rules.result import end_of_day
from cloud.alerts.service import AlertService, FarmInfo
from cloud.alerts.store import MemoryAlertStore, State
from cloud.notify.dispatch import Dispatcher
from cloud.notify.inbound import Reply, apply_reply
from cloud.notify.outbox import MemoryOutboxStore, Outbox, OutState
from cloud.notify.providers import GenericHttpProvider
from cloud.notify.recipients import MemoryDirectory, Recipient
from cloud.notify.segments import count_segments
from tests.alerts.factories import T0, day
from tests.alerts.sms_server import SmsServer

FARMS = {
    "lijiaping": FarmInfo("lijiaping", "李家坪鸡场", "qinghua", "青华镇"),
    "wangjiagou": FarmInfo("wangjiagou", "王家沟鸡场", "qinghua", "青华镇"),
    "shibanxi": FarmInfo("shibanxi", "石板溪散养户", "qinghua", "青华镇"),
    "longtan": FarmInfo("longtan", "龙潭鸡场", "longtan", "龙潭镇"),
}
RECIPIENTS = [
    *(
        Recipient(f"farmer-{f}", f"+86138000000{i:02d}", Audience.FARMER, farms=frozenset({f}))
        for i, f in enumerate(FARMS)
    ),
    Recipient("tech-qh", "+8613900000001", Audience.TECHNICIAN, townships=frozenset({"qinghua"})),
    Recipient("tech-lt", "+8613900000002", Audience.TECHNICIAN, townships=frozenset({"longtan"})),
    Recipient(
        "staff",
        "+8613700000001",
        Audience.PROGRAM_STAFF,
        townships=frozenset({"qinghua", "longtan"}),
    ),
    Recipient(
        "farmer-en", "+447700900000", Audience.FARMER, lang="en", farms=frozenset({"lijiaping"})
    ),
]


@pytest.fixture
def server() -> Iterator[SmsServer]:
    s = SmsServer().start()
    yield s
    s.stop()


def _stack(server: SmsServer) -> tuple[AlertEngine, MemoryAlertStore, Dispatcher, Outbox]:
    store = MemoryAlertStore()
    engine = AlertEngine(store=store)
    outbox = Outbox(MemoryOutboxStore(), GenericHttpProvider(url=server.url + "/sms"))
    directory = MemoryDirectory(RECIPIENTS, {f: i.township or "" for f, i in FARMS.items()})
    names = {i.township: i.township_name for i in FARMS.values() if i.township and i.township_name}

    def place(key: AlertKey, lang: str) -> str:
        info = FARMS.get(key.farm or "")
        return "" if info is None else (info.farm if lang == "en" else info.name)

    dispatcher = Dispatcher(
        directory, outbox, store, place=place, region_name=lambda c: names.get(c, c)
    )
    return engine, store, dispatcher, outbox


def test_storm_through_dispatch_gives_at_most_one_sms_per_recipient(server: SmsServer) -> None:
    engine, store, dispatcher, outbox = _stack(server)
    key = AlertKey("lijiaping", "1", NH3_HIGH)
    for i in range(1000):  # ten minutes of readings, one each 0.6 s
        at = T0 + timedelta(seconds=0.6 * i)
        effects = engine.observe(Finding(key, Severity.WARNING, at, "nh3_above", 24.0, 20.0))
        effects += engine.tick(at)
        dispatcher.handle(effects, at)
        outbox.deliver_due(at)
    assert len(store.all()) == 1
    per_phone = Counter(r.body for r in server.requests)
    assert len(server.requests) == 2  # the two farmers of this farm, once each
    assert set(per_phone.values()) == {1}


def test_farmer_reply_acknowledges_and_stops_escalation(server: SmsServer) -> None:
    engine, store, dispatcher, outbox = _stack(server)
    key = AlertKey("wangjiagou", "2", NH3_HIGH)
    dispatcher.handle(
        engine.observe(Finding(key, Severity.WARNING, T0, "nh3_above", 24.0, 20.0)), T0
    )
    outbox.deliver_due(T0)
    alert_id = apply_reply(
        Reply("+8613800000001", "收到"), dispatcher, engine, T0 + timedelta(minutes=5)
    )
    assert alert_id == store.all()[0].id and store.all()[0].state is State.ACKNOWLEDGED
    later = engine.tick(T0 + timedelta(hours=2))
    assert dispatcher.handle(later, T0 + timedelta(hours=2)) == []  # technician never paged
    assert apply_reply(Reply("+8613800000001", "鸡还好吗"), dispatcher, engine, T0) is None


def test_resolved_before_quiet_hours_end_is_never_sent(server: SmsServer) -> None:
    engine, store, dispatcher, outbox = _stack(server)
    night = T0 + timedelta(hours=15)  # 23:00 in China
    key = AlertKey("longtan", "1", NH3_HIGH)
    queued = dispatcher.handle(
        engine.observe(Finding(key, Severity.WARNING, night, "nh3_above", 22.0, 20.0)), night
    )
    assert queued and queued[0].not_before > night
    effects = engine.clear(key, night + timedelta(minutes=10))
    effects += engine.tick(night + timedelta(minutes=45))
    dispatcher.handle(effects, night + timedelta(minutes=45))
    outbox.deliver_due(night + timedelta(hours=9))
    assert server.requests == []
    assert queued[0].state is OutState.CANCELLED


def _outbreak_history(farm: str, birds: int, onset: int, days: int = 30) -> FlockHistory:
    """HPAI-like: normal losses, then deaths multiplying daily while water intake collapses."""
    records = []
    alive = birds
    for i in range(days):
        k = i - onset
        dead = max(1, round(alive * 0.0003)) if i % 3 == 0 else 0
        water = birds * 0.25
        if k >= 0:
            dead = min(alive, round(alive * 0.01 * 2**k))
            water *= max(0.2, 1 - 0.25 * (k + 1))
        records.append(
            DailyRecord(day(i), dead, water_l=round(water, 1), feed_kg=round(water / 1.8, 1))
        )
        alive -= dead
    return FlockHistory(FlockContext(farm, "1", birds, placed_on=day(-40)), records)


def test_hpai_like_outbreak_in_one_township(server: SmsServer) -> None:
    engine, store, dispatcher, outbox = _stack(server)
    service = AlertService(engine, FARMS)
    flocks = {
        "lijiaping": _outbreak_history("lijiaping", 3000, onset=20),
        "wangjiagou": _outbreak_history("wangjiagou", 1200, onset=21),
        "shibanxi": _outbreak_history("shibanxi", 90, onset=22),
        "longtan": _outbreak_history("longtan", 2000, onset=99),  # another township, healthy
    }
    for i in range(30):
        now = end_of_day(day(i))
        effects = []
        for history in flocks.values():
            effects += service.flock_day(history, day(i))
        effects += service.end_of_day(day(i))
        dispatcher.handle(effects, now)
        outbox.deliver_due(now)

    alerts = store.all()
    by_type = Counter(a.key.type for a in alerts)
    farms_with = {
        t: {a.key.farm for a in alerts if a.key.type == t} for t in (MORTALITY, SUSPECTED_DISEASE)
    }
    assert farms_with[MORTALITY] == {"lijiaping", "wangjiagou", "shibanxi"}
    assert farms_with[SUSPECTED_DISEASE] == {"lijiaping", "wangjiagou", "shibanxi"}
    assert by_type[REGIONAL_OUTBREAK] == 1
    regional = next(a for a in alerts if a.key.type == REGIONAL_OUTBREAK)
    third_farm = max(
        min(a.opened_at for a in alerts if a.key.farm == farm and a.key.type == MORTALITY)
        for farm in ("lijiaping", "wangjiagou", "shibanxi")
    )
    assert regional.key.region == "qinghua" and regional.opened_at == third_farm
    assert not [a for a in alerts if a.key.farm == "longtan"]
    first_mortality = min(a.opened_at for a in alerts if a.key.type == MORTALITY)
    assert first_mortality.date() <= day(21)  # within a day or so of onset

    # What people's phones received.
    texts = [(r.headers["Idempotency-Key"], r.body.decode()) for r in server.requests]
    assert all(status == 200 for status in (r.status for r in server.requests))
    sms: dict[str, list[str]] = {}
    for message in outbox.store.messages.values():  # type: ignore[attr-defined]
        assert message.state is OutState.SENT
        sms.setdefault(message.recipient, []).append(message.text)
    assert len(texts) == len(outbox.store.messages)  # type: ignore[attr-defined]
    suspected = [t for t in sms["farmer-shibanxi"] if "疑似" in t]
    assert suspected and "隔离" in suspected[0] and "兽医站" in suspected[0]
    assert "石板溪散养户" in suspected[0]
    # The suspected-disease SMS covers the mortality and water ones for that farm.
    # (the water drop the day before came first and was sent on its own).
    assert not [t for t in sms["farmer-shibanxi"] if "24小时死亡" in t]
    assert len(sms["farmer-shibanxi"]) == 2
    assert dispatcher.covered > 0
    assert any("青华镇有3个养殖场" in t for t in sms["staff"])
    assert any("青华镇" in t for t in sms["tech-qh"])
    assert "tech-lt" not in sms
    assert any(t.startswith("Fuhuiyang: URGENT lijiaping") for t in sms["farmer-en"])
    for recipient, messages in sms.items():
        for text in messages:
            seg = count_segments(text)
            assert seg.count <= 2, (recipient, text)  # readable whole on a basic phone


def test_storm_and_budget_leave_two_sms_now_and_one_digest_in_the_evening(
    server: SmsServer,
) -> None:
    engine, store, dispatcher, outbox = _stack(server)
    for i in range(8):  # eight houses' ammonia alarms at once
        key = AlertKey("wangjiagou", str(i), NH3_HIGH)
        at = T0 + timedelta(minutes=i)
        dispatcher.handle(
            engine.observe(Finding(key, Severity.WARNING, at, "nh3_above", 24.0, 20.0)), at
        )
    later = T0 + timedelta(minutes=20)
    dispatcher.handle(engine.tick(later), later)
    texts = [m.text for m in outbox.store.messages.values()]  # type: ignore[attr-defined]
    # The farmer's budget: two warnings a day at once; the storm protection held three more
    # and its count, like the other three, waits for the evening digest.
    assert len(texts) == 2 and all("氨气24ppm" in t for t in texts)
    evening = T0.replace(hour=10, minute=5)  # 18:05 in China
    assert evening > later
    digests = dispatcher.send_digests(evening)
    assert [d.text for d in digests] == [
        "【富慧养】今日摘要2项：王家沟鸡场：氨气24ppm，超过20；王家沟鸡场：另有3条提醒未发短信，请在应用中查看。"
    ]
    # Mainland providers get the approved digest template and its short values instead.
    assert digests[0].template == "FHY_DIGEST" and digests[0].params == {"count": "2", "place": "王家沟鸡场"}
    assert dispatcher.send_digests(evening + timedelta(hours=3)) == []  # once a day
