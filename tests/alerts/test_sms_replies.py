"""Replies matched by their reply code (and phone and time), not by a message id.

Aliyun's up-message (SmsUp) carries no message id, so "the alert last texted" is wrong as soon
as two alerts reach one phone: the farmer answers the one they read. The code names it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from cloud.alerts.lifecycle import AlertEngine
from cloud.alerts.model import CO2_HIGH, NH3_HIGH, AlertKey, Finding, Severity
from cloud.alerts.policy import Audience
from cloud.alerts.store import MemoryAlertStore, State
from cloud.alerts.store_pg import PgAlertStore
from cloud.notify import webhook_routes
from cloud.notify.dispatch import Dispatcher
from cloud.notify.fakes.aliyun import FakeAliyunSms
from cloud.notify.fakes.tencent import FakeTencentSms
from cloud.notify.inbound import Reply, apply_reply, parse_aliyun, parse_tencent
from cloud.notify.outbox import MemoryOutboxStore, Outbox, OutMessage
from cloud.notify.outbox_pg import PgOutboxStore
from cloud.notify.providers import AliyunSmsProvider
from cloud.notify.recipients import MemoryDirectory, Recipient
from cloud.notify.settings import SmsSettings
from cloud.notify.templates import CATALOGUE, code_in_reply
from cloud.notify.tencent import TencentSmsProvider
from cloud.settings import CloudSettings
from fuhuiyang.processes.api import make_pool
from tests.alerts.factories import T0
from tests.support.databases import TestDatabase

PHONE = "+8613800000001"


def test_reply_codes_are_read_from_what_farmers_type() -> None:
    assert code_in_reply("4821") == "4821"
    assert code_in_reply("回复４８２１确认") == "4821"  # full-width digits from a phone keyboard
    assert code_in_reply("收到 4821。") == "4821"
    assert code_in_reply("收到") is None and code_in_reply("1") is None
    assert code_in_reply("48215") is None and code_in_reply("4821 3307") is None  # ambiguous


@pytest.fixture
def aliyun() -> Iterator[FakeAliyunSms]:
    fake = FakeAliyunSms(clock=lambda: T0).start()
    yield fake
    fake.stop()


def test_a_reply_quoting_the_code_acknowledges_that_alert_not_the_latest(aliyun: FakeAliyunSms) -> None:
    store = MemoryAlertStore()
    engine = AlertEngine(store=store)
    provider = AliyunSmsProvider(aliyun.access_key_id, aliyun.access_key_secret, "富慧养",
                                 template_codes=aliyun.approve(CATALOGUE.values()), endpoint=aliyun.url,
                                 clock=lambda: T0)
    outbox = Outbox(MemoryOutboxStore(), provider)
    directory = MemoryDirectory([Recipient("farmer", PHONE, Audience.FARMER, farms=frozenset({"f1"}))], {})
    dispatcher = Dispatcher(directory, outbox, store)
    first, second = AlertKey("f1", "1", NH3_HIGH), AlertKey("f1", "2", CO2_HIGH)
    for i, (key, rule) in enumerate(((first, "nh3_above"), (second, "co2_above"))):
        at = T0 + timedelta(minutes=i)
        dispatcher.handle(engine.observe(Finding(key, Severity.CRITICAL, at, rule, 4000.0, 3000.0)), at)
        assert outbox.deliver_due(at).sent == 1
    sent = aliyun.delivered
    codes = [d.params["code"] for d in sent]
    assert len(set(codes)) == 2 and all(f"回复{c}确认收到" in d.text for c, d in zip(codes, sent, strict=True))
    # The farmer answers the first SMS, after the second arrived: SmsUp has no message id.
    push = aliyun.up(PHONE, f"回复{codes[0]}确认", T0 + timedelta(minutes=5))
    (reply,) = parse_aliyun(json.dumps(push).encode(), "t", "t")
    assert isinstance(reply, Reply)
    acked = apply_reply(reply, dispatcher, engine, T0 + timedelta(minutes=5))
    by_key = {a.key: a for a in store.all()}
    assert acked == by_key[first].id
    assert by_key[first].state is State.ACKNOWLEDGED and by_key[second].state is not State.ACKNOWLEDGED
    # A code no message to this phone carried (or one quoted before it was sent) matches nothing.
    assert apply_reply(Reply(PHONE, "9999", T0 + timedelta(minutes=5)), dispatcher, engine, T0) is None
    assert apply_reply(Reply(PHONE, codes[1], T0 - timedelta(minutes=1)), dispatcher, engine, T0) is None
    assert apply_reply(Reply("+8613999999999", codes[1], T0 + timedelta(minutes=5)),
                       dispatcher, engine, T0) is None


def test_one_alert_keeps_its_code_for_the_same_phone() -> None:
    """An escalated or repeated alert quotes the code the farmer already has."""
    store = MemoryAlertStore()
    engine = AlertEngine(store=store)
    outbox = Outbox(MemoryOutboxStore(), AliyunSmsProvider("a", "b", "富慧养"))
    directory = MemoryDirectory([Recipient("farmer", PHONE, Audience.FARMER, farms=frozenset({"f1"}))], {})
    dispatcher = Dispatcher(directory, outbox, store)
    key = AlertKey("f1", "1", NH3_HIGH)
    dispatcher.handle(engine.observe(Finding(key, Severity.WARNING, T0, "nh3_above", 24.0, 20.0)), T0)
    dispatcher.handle(engine.observe(Finding(key, Severity.CRITICAL, T0 + timedelta(minutes=30),
                                             "nh3_above", 40.0, 20.0)), T0 + timedelta(minutes=30))
    codes = {m.reply_code for m in outbox.store.messages.values()}  # type: ignore[attr-defined]
    assert len(outbox.store.messages) == 2 and len(codes) == 1  # type: ignore[attr-defined]


# -- over HTTP, against the database ------------------------------------------------------------

@pytest.fixture
def client(db: TestDatabase) -> Iterator[tuple[TestClient, list[str], list[str]]]:
    """Two alerts texted to one phone through the Tencent fake, with their reply codes."""
    now = datetime.now(UTC)
    tencent = FakeTencentSms(clock=lambda: now).start()
    provider = TencentSmsProvider(tencent.secret_id, tencent.secret_key, tencent.sdk_app_id, "富慧养",
                                  template_ids=tencent.approve(CATALOGUE.values()), endpoint=tencent.url,
                                  clock=lambda: now)
    ids, serials = [], []
    with db.connect() as conn:
        alerts = PgAlertStore(conn)
        engine = AlertEngine(store=alerts)
        outbox = Outbox(PgOutboxStore(conn), provider)
        for i, kind in enumerate((NH3_HIGH, CO2_HIGH)):
            engine.observe(Finding(AlertKey("f1", f"h{i}", kind), Severity.WARNING, now, "x", 22.0, 20.0))
            alert = next(a for a in alerts.active() if a.key.type == kind)
            ids.append(alert.id)
            outbox.enqueue(OutMessage(f"{alert.id}:farmer:x", alert.id, "x", PHONE, "text", Severity.WARNING,
                                      now, now, template="FHY_GENERIC",
                                      params={"level": "警告", "place": "李家坪", "code": f"{5000 + i}"},
                                      reply_code=f"{5000 + i}"))
            assert outbox.deliver_due(now).sent == 1
            serials.append(tencent.delivered[-1].serial_no)
    tencent.stop()
    app = FastAPI()
    pool = make_pool(CloudSettings(database_url=db.url, database_schema=db.schema))
    pool.open()
    app.state.pool = pool
    app.state.sms_settings = SmsSettings(aliyun_callback_token=SecretStr("ali"),
                                         tencent_callback_token=SecretStr("ten"))
    app.include_router(webhook_routes.router)
    with TestClient(app) as test_client:
        yield test_client, ids, serials
    pool.close()


def test_tencent_and_aliyun_callbacks_feed_receipts_and_coded_replies(
    client: tuple[TestClient, list[str], list[str]], db: TestDatabase
) -> None:
    http, ids, serials = client
    fake = FakeTencentSms()
    status = [{"user_receive_time": "2026-12-05 08:03:04", "nationcode": "86", "mobile": PHONE[3:],
               "report_status": "SUCCESS", "errmsg": "DELIVRD", "description": "ok", "sid": serials[1]}]
    r = http.post("/webhooks/sms/tencent", content=json.dumps(status).encode(), auth=("tencent", "ten"))
    assert r.status_code == 200 and r.json()["result"] == 0 and r.json()["counts"] == {"receipt": 1}
    assert http.post("/webhooks/sms/tencent", content=b"[]", auth=("tencent", "no")).status_code == 401
    reply = fake.reply_callback(PHONE, "5000收到", datetime.now(UTC) + timedelta(seconds=1))
    r = http.post("/webhooks/sms/tencent", content=json.dumps(reply).encode(), auth=("tencent", "ten"))
    assert r.json()["acknowledged"] == [ids[0]]  # the first alert, though the second came later
    # Aliyun's SmsUp for the other code, phone without +86, Beijing time.
    up = [{"phone_number": PHONE[3:], "content": "回复5001确认",
           "send_time": (datetime.now(UTC) + timedelta(hours=8, seconds=2)).strftime("%Y-%m-%d %H:%M:%S")}]
    r = http.post("/webhooks/sms/aliyun", content=json.dumps(up).encode(), auth=("aliyun", "ali"))
    assert r.json()["acknowledged"] == [ids[1]]
    unknown = [{"phone_number": PHONE[3:], "content": "7777",
                "send_time": (datetime.now(UTC) + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")}]
    r = http.post("/webhooks/sms/aliyun", content=json.dumps(unknown).encode(), auth=("aliyun", "ali"))
    assert r.json()["counts"] == {"reply_code_unknown": 1}
    with db.connect() as conn:
        states: dict[str, str] = dict(conn.execute("SELECT evidence->>'uid', state FROM alerts").fetchall())
        delivered = conn.execute("SELECT count(*) FROM notifications WHERE state = 'delivered'").fetchone()
    assert states == {ids[0]: "acknowledged", ids[1]: "acknowledged"}
    assert delivered == (1,)


def test_tencent_callback_parser_refuses_malformed_pushes() -> None:
    with pytest.raises(ValueError, match="report_status"):
        parse_tencent(b'[{"sid": "1", "report_status": "MAYBE"}]', "t", "t")
    with pytest.raises(ValueError, match="time"):
        parse_tencent(b'{"mobile": "13800000001", "text": "1", "time": "soon"}', "t", "t")


def test_a_refused_number_is_recorded_marked_and_cleared_when_corrected(
    db: TestDatabase, aliyun: FakeAliyunSms
) -> None:
    from cloud.notify.refusals_pg import PgRefusalLog

    with db.connect() as conn:
        row = conn.execute(
            "INSERT INTO users (username, password_hash, role, phone) VALUES ('wang', 'x', 'farmer', '+86123') "
            "RETURNING id").fetchone()
        assert row is not None
        uid = row[0]
        conn.commit()
        provider = AliyunSmsProvider(aliyun.access_key_id, aliyun.access_key_secret, "富慧养",
                                     template_codes=aliyun.approve(CATALOGUE.values()), endpoint=aliyun.url,
                                     clock=lambda: T0)
        outbox = Outbox(PgOutboxStore(conn), provider, refusals=PgRefusalLog(conn))
        outbox.enqueue(OutMessage("a1:farmer:1", "a1", str(uid), "+86123", "text", Severity.CRITICAL, T0, T0,
                                  template="FHY_GENERIC", params={"level": "紧急", "place": "李家坪", "code": "4821"},
                                  reply_code="4821"))
        assert outbox.deliver_due(T0).failed == 1
        refusal = conn.execute("SELECT cause, code, user_id FROM sms_refusals").fetchall()
        assert refusal == [("recipient", "isv.MOBILE_NUMBER_ILLEGAL", uid)]
        marked = conn.execute("SELECT phone_refused_reason FROM users WHERE id = %s", (uid,)).fetchone()
        assert marked == ("aliyun isv.MOBILE_NUMBER_ILLEGAL",)
        conn.execute("UPDATE users SET phone = '+8613800000009' WHERE id = %s", (uid,))
        cleared = conn.execute("SELECT phone_refused_at FROM users WHERE id = %s", (uid,)).fetchone()
        assert cleared == (None,)
