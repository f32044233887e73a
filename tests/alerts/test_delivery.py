from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Iterator
from datetime import timedelta

import pytest

from cloud.alerts.model import Severity
from cloud.notify.outbox import Backoff, MemoryOutboxStore, Outbox, OutMessage, OutState
from cloud.notify.providers import (
    AliyunSmsProvider,
    GenericHttpProvider,
    HttpAnswer,
    PermanentSendError,
    TransientSendError,
    TwilioProvider,
    aliyun_signature,
)
from tests.alerts.factories import T0
from tests.alerts.sms_server import SmsServer

MIN = timedelta(minutes=1)


@pytest.fixture
def server() -> Iterator[SmsServer]:
    s = SmsServer().start()
    yield s
    s.stop()


def _message(i: int, severity: Severity = Severity.WARNING) -> OutMessage:
    return OutMessage(
        key=f"alert{i}:farmer:warning:r{i}",
        alert_id=f"alert{i}",
        recipient=f"r{i}",
        phone=f"+86138000000{i:02d}",
        text=f"【富慧养】警告：测试{i}",
        severity=severity,
        created_at=T0,
        not_before=T0,
    )


def test_provider_down_for_an_hour_delivers_everything_once_after(
    server: SmsServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="cloud.notify.outbox")
    outbox = Outbox(MemoryOutboxStore(), GenericHttpProvider(url=server.url + "/sms", token="t"))
    for i in range(20):
        assert outbox.enqueue(_message(i))
    assert not outbox.enqueue(_message(3))  # idempotent enqueue
    now = T0
    while now <= T0 + 90 * MIN:
        server.down = now < T0 + 60 * MIN
        outbox.deliver_due(now)
        now += MIN
    store = outbox.store
    assert isinstance(store, MemoryOutboxStore)
    assert all(m.state is OutState.SENT for m in store.messages.values())
    assert set(server.accepted) == {m.key for m in store.messages.values()}
    assert set(server.accepted.values()) == {1}  # none twice
    refused = sum(1 for r in server.requests if r.status == 503)
    assert refused > 20  # it kept trying through the hour, with backoff
    assert refused < 20 * 15  # ... but did not hammer the provider every minute
    last_sent = max(m.sent_at for m in store.messages.values() if m.sent_at)
    assert last_sent <= T0 + 67 * MIN  # backoff is capped at 5 minutes (+jitter)
    assert server.requests[-1].headers["Authorization"] == "Bearer t"
    outage_lines = [r.getMessage() for r in caplog.records]
    assert len(outage_lines) == 2  # unavailable once, back once: not once per message
    assert "unavailable" in outage_lines[0] and "is back" in outage_lines[1]


def test_unreachable_provider_is_transient() -> None:
    provider = GenericHttpProvider(url="http://127.0.0.1:9/sms", timeout_s=2)
    with pytest.raises(TransientSendError, match="cannot reach"):
        provider.send("+8613800000000", "x", "k")


def test_permanent_rejection_fails_without_retry(server: SmsServer) -> None:
    server.reject = True
    outbox = Outbox(MemoryOutboxStore(), GenericHttpProvider(url=server.url + "/sms"))
    outbox.enqueue(_message(1))
    report = outbox.deliver_due(T0)
    assert report.failed == 1
    assert outbox.deliver_due(T0 + 60 * MIN).failed == 0
    assert len(server.requests) == 1


def test_backoff_grows_and_is_capped() -> None:
    b = Backoff()
    delays = [b.delay(n, "k").total_seconds() for n in range(1, 10)]
    assert 24 <= delays[0] <= 36
    assert all(d <= 300 * 1.2 for d in delays)
    assert delays[8] >= 300 * 0.8
    assert b.delay(9, "k", Severity.CRITICAL).total_seconds() <= 120 * 1.2
    assert b.delay(3, "k") == b.delay(3, "k")  # reproducible


def test_critical_goes_first_and_stale_messages_fail(server: SmsServer) -> None:
    outbox = Outbox(MemoryOutboxStore(), GenericHttpProvider(url=server.url + "/sms"), batch=1)
    outbox.enqueue(_message(1))
    outbox.enqueue(_message(2, Severity.CRITICAL))
    outbox.deliver_due(T0)
    assert server.requests[0].headers["Idempotency-Key"] == _message(2).key
    late = Outbox(MemoryOutboxStore(), GenericHttpProvider(url=server.url + "/sms"))
    late.enqueue(_message(3))
    assert late.deliver_due(T0 + timedelta(hours=25)).failed == 1


def test_receipts_move_sent_to_delivered(server: SmsServer) -> None:
    outbox = Outbox(MemoryOutboxStore(), GenericHttpProvider(url=server.url + "/sms"))
    outbox.enqueue(_message(1))
    outbox.deliver_due(T0)
    message = outbox.store.get(_message(1).key)
    assert message is not None and message.provider_id
    assert outbox.receipt(message.provider_id, True, T0 + MIN) is message
    assert message.state is OutState.DELIVERED
    assert outbox.receipt("nope", True, T0) is None


def test_twilio_adapter(server: SmsServer) -> None:
    provider = TwilioProvider("AC123", "secret", "+15005550006", base_url=server.url)
    sid = provider.send("+8613800000000", "hello", "k1")
    assert sid.startswith("SM")
    sent = server.requests[-1]
    assert sent.path == "/2010-04-01/Accounts/AC123/Messages.json"
    assert sent.headers["Authorization"].startswith("Basic ")
    assert dict(urllib.parse.parse_qsl(sent.body.decode()))["To"] == "+8613800000000"
    server.down = True
    with pytest.raises(TransientSendError):
        provider.send("+8613800000000", "hello", "k2")
    server.down, server.reject = False, True
    with pytest.raises(PermanentSendError):
        provider.send("+8613800000000", "hello", "k3")


def test_aliyun_adapter_signs_and_classifies(server: SmsServer) -> None:
    # The legacy single-variable template, for free text (templates per kind: test_sms_providers).
    provider = AliyunSmsProvider(
        "AK", "S3cr3t", "富慧养", template_code="SMS_123", endpoint=server.url + "/aliyun"
    )
    assert provider.send("+8613800000000", "【富慧养】测试", "key-1").startswith("biz")
    form = dict(urllib.parse.parse_qsl(server.requests[-1].body.decode()))
    signature = form.pop("Signature")
    assert signature == aliyun_signature(form, "S3cr3t")  # the server side can verify it
    assert form["PhoneNumbers"] == "13800000000" and form["OutId"] == "key-1"
    server.aliyun_code = "isv.BUSINESS_LIMIT_CONTROL"
    with pytest.raises(TransientSendError):
        provider.send("+8613800000000", "x", "key-2")
    server.aliyun_code = "isv.MOBILE_NUMBER_ILLEGAL"
    with pytest.raises(PermanentSendError):
        provider.send("+8613800000000", "x", "key-3")


def test_aliyun_signature_known_vector() -> None:
    # Parameters and expected signature from Aliyun's RPC signature documentation example.
    params = {
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "Format": "XML",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z",
        "Version": "2014-05-26",
    }
    assert aliyun_signature(params, "testsecret", "GET") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_accepted_with_an_unreadable_answer_is_not_retried() -> None:
    # 2xx means the gateway took it: raising now would send the SMS a second time.
    provider = GenericHttpProvider(
        url="http://gateway/sms", transport=lambda request, timeout: HttpAnswer(200, b"<html>ok")
    )
    assert provider.send("+8613800000000", "x", "key-9") == "key-9"
    twilio = TwilioProvider(
        "AC1", "t", "+1500", transport=lambda request, timeout: HttpAnswer(201, b"{}")
    )
    assert twilio.send("+8613800000000", "x", "key-10") == "key-10"


def test_a_buggy_adapter_does_not_lose_the_message() -> None:
    class Broken:
        name = "broken"

        def send(self, to: str, text: str, key: str) -> str:
            raise RuntimeError("bug")

    outbox = Outbox(MemoryOutboxStore(), Broken())
    outbox.enqueue(_message(1))
    report = outbox.deliver_due(T0)
    message = outbox.store.get(_message(1).key)
    assert report.errors["unexpected"] == 1 and message is not None
    assert message.state is OutState.PENDING and message.not_before > T0
