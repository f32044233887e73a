from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest

from cloud.alerts.model import Severity
from cloud.notify.inbound import (
    Receipt,
    Reply,
    WebhookError,
    is_acknowledgement,
    parse_aliyun,
    parse_generic,
    parse_twilio,
    sign_generic,
    twilio_signature,
)
from cloud.notify.pacing import Pacing, earliest_send

SECRET = b"webhook-secret"
NOW = datetime(2025, 3, 1, 4, 0, tzinfo=UTC)  # 12:00 in China


def _signed(
    payload: object, ts: datetime = NOW, secret: bytes = SECRET
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    stamp = int(ts.timestamp())
    return body, {
        "X-Fuhuiyang-Signature": sign_generic(body, secret, stamp),
        "X-Fuhuiyang-Timestamp": str(stamp),
    }


def test_generic_webhook_receipt_and_reply() -> None:
    body, headers = _signed(
        [
            {
                "type": "receipt",
                "id": "msg-1",
                "status": "delivered",
                "at": "2025-03-01T04:00:00+00:00",
            },
            {"type": "reply", "from": "+8613800000000", "text": "收到"},
        ]
    )
    receipt, reply = parse_generic(body, headers, SECRET, NOW)
    assert receipt == Receipt("msg-1", True, NOW, None)
    assert isinstance(reply, Reply) and reply.acknowledges


@pytest.mark.parametrize(
    ("mutate", "status", "reason"),
    [
        (lambda b, h: (b, {}), 401, "unsigned"),
        (lambda b, h: (b + b" ", h), 401, "bad_signature"),
        (
            lambda b, h: _signed({"type": "reply", "from": "x", "text": "1"}, secret=b"other"),
            401,
            "bad_signature",
        ),
        (
            lambda b, h: _signed(
                {"type": "reply", "from": "x", "text": "1"}, ts=NOW - timedelta(minutes=6)
            ),
            401,
            "stale",
        ),
        (lambda b, h: (b, {**h, "X-Fuhuiyang-Timestamp": "soon"}), 401, "bad_signature"),
        (lambda b, h: (b, {**h, "X-Fuhuiyang-Timestamp": "9" * 30}), 401, "bad_signature"),
        (lambda b, h: _signed({"type": "receipt", "id": "m", "status": "maybe"}), 400, "invalid"),
        (lambda b, h: _signed({"type": "poke"}), 400, "invalid"),
        (lambda b, h: _signed({"type": "reply", "from": "", "text": "1"}), 400, "invalid"),
        (
            lambda b, h: _signed(
                {"type": "receipt", "id": "m", "status": "delivered", "at": "noon"}
            ),
            400,
            "invalid",
        ),
        (lambda b, h: _signed([1]), 400, "invalid"),
    ],
)
def test_generic_webhook_rejections(mutate: object, status: int, reason: str) -> None:
    body, headers = _signed({"type": "reply", "from": "+86138", "text": "1"})
    body, headers = mutate(body, headers)  # type: ignore[operator]
    with pytest.raises(WebhookError) as err:
        parse_generic(body, headers, SECRET, NOW)
    assert (err.value.status, err.value.reason) == (status, reason)


def test_bad_json_and_oversize_are_rejected() -> None:
    body = b"{not json"
    stamp = int(NOW.timestamp())
    headers = {
        "X-Fuhuiyang-Signature": sign_generic(body, SECRET, stamp),
        "X-Fuhuiyang-Timestamp": str(stamp),
    }
    with pytest.raises(WebhookError, match="bad_json"):
        parse_generic(body, headers, SECRET, NOW)
    with pytest.raises(WebhookError, match="too_large"):
        parse_generic(b"x" * 70_000, headers, SECRET, NOW)


def test_twilio_webhooks() -> None:
    url = "https://example.org/sms/twilio"
    form = {"MessageSid": "SM1", "MessageStatus": "delivered", "To": "+8613800000000"}
    sig = twilio_signature(url, form, "tok")
    assert parse_twilio(url, form, sig, "tok") == Receipt("SM1", True, None, None)
    queued = {"MessageSid": "SM1", "MessageStatus": "queued"}
    assert parse_twilio(url, queued, twilio_signature(url, queued, "tok"), "tok") is None
    incoming = {"MessageSid": "SM2", "SmsStatus": "received", "From": "+8613800000000", "Body": "1"}
    reply = parse_twilio(url, incoming, twilio_signature(url, incoming, "tok"), "tok")
    assert isinstance(reply, Reply) and reply.acknowledges
    with pytest.raises(WebhookError, match="bad_signature"):
        parse_twilio(url, {**form, "MessageStatus": "failed"}, sig, "tok")
    with pytest.raises(WebhookError, match="unsigned"):
        parse_twilio(url, form, None, "tok")


def test_aliyun_push() -> None:
    body = json.dumps(
        [
            {
                "phone_number": "13800000000",
                "success": True,
                "biz_id": "biz1",
                "report_time": "2025-03-01 12:00:00",
            },
            {
                "phone_number": "13800000000",
                "success": False,
                "biz_id": "biz2",
                "err_code": "MK:0001",
            },
            {"phone_number": "13800000000", "content": "收到", "send_time": "2025-03-01 12:01:00"},
        ]
    ).encode()
    ok, bad, reply = parse_aliyun(body, "tok", "tok")
    assert ok == Receipt("biz1", True, NOW, None)
    assert isinstance(bad, Receipt) and not bad.delivered and bad.error == "MK:0001"
    assert isinstance(reply, Reply) and reply.acknowledges
    with pytest.raises(WebhookError, match="bad_token"):
        parse_aliyun(body, "wrong", "tok")
    with pytest.raises(WebhookError, match="neither"):
        parse_aliyun(b'[{"phone_number": "1"}]', "tok", "tok")


@pytest.mark.parametrize("text", ["1", "１", " 收到。", "收到了", "确认", "OK!", "好的"])
def test_acknowledgement_words(text: str) -> None:
    assert is_acknowledgement(text)


@pytest.mark.parametrize("text", ["2", "鸡死了", "", "11", "not ok"])
def test_other_replies_do_not_acknowledge(text: str) -> None:
    assert not is_acknowledgement(text)


def test_quiet_hours_defer_non_critical_to_morning_local_time() -> None:
    night = datetime(2025, 3, 1, 15, 0, tzinfo=UTC)  # 23:00 in China
    at, why = earliest_send(night, Severity.WARNING, [], Pacing())
    assert why == "quiet_hours"
    assert at == datetime(2025, 3, 1, 22, 30, tzinfo=UTC)  # 06:30 next morning in China
    assert earliest_send(night, Severity.CRITICAL, [], Pacing()) == (night, None)
    early = datetime(2025, 3, 1, 21, 0, tzinfo=UTC)  # 05:00 in China
    assert earliest_send(early, Severity.WARNING, [], Pacing())[0] == datetime(
        2025, 3, 1, 22, 30, tzinfo=UTC
    )
    assert earliest_send(NOW, Severity.WARNING, [], Pacing()) == (NOW, None)
    off = Pacing(quiet_start=None)
    assert earliest_send(night, Severity.WARNING, [], off) == (night, None)


def test_rate_limit_per_hour_and_day() -> None:
    sent = [NOW - timedelta(minutes=m) for m in (50, 20, 5)]
    at, why = earliest_send(NOW, Severity.WARNING, sent, Pacing())
    assert why == "rate_limit" and at == NOW + timedelta(minutes=10)
    assert earliest_send(NOW, Severity.CRITICAL, sent, Pacing()) == (NOW, None)
    day = [NOW - timedelta(hours=h) for h in range(1, 11)]
    at, why = earliest_send(
        NOW, Severity.WARNING, day, Pacing(max_per_hour=99, quiet_start=time(22, 0))
    )
    assert why in ("rate_limit", "quiet_hours") and at > NOW
