"""Inbound webhooks: delivery receipts and SMS replies, authenticated before they are parsed.

- generic gateway: HMAC-SHA256 over "<timestamp>.<body>" in `X-Fuhuiyang-Signature:
  sha256=<hex>` with `X-Fuhuiyang-Timestamp` (unix seconds, 5-minute window against replay);
- Twilio: `X-Twilio-Signature` (HMAC-SHA1 of URL + sorted form fields, base64);
- Aliyun report/up-message push and Tencent Cloud SMS status/reply callbacks: a shared token
  (neither provider signs its HTTP push). The token
  travels as the password of HTTP Basic credentials (callback URL
  `https://aliyun:<token>@host/api/v1/webhooks/sms/aliyun`, which clients send as an
  Authorization header) or in `X-Fuhuiyang-Token` from a proxy; never in the path, so never in
  access logs. Compared in constant time.

Replays are refused by the routes (cloud.notify.replay): each applied delivery is remembered
for its window.

Everything malformed or unauthenticated raises `WebhookError` with an HTTP status and a
short reason for the metric label; nothing is half-applied.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from cloud.alerts.lifecycle import AlertEngine
from cloud.notify.dispatch import Dispatcher
from cloud.notify.templates import code_in_reply

MAX_BODY = 64 * 1024
SIGNATURE_HEADER = "x-fuhuiyang-signature"
TIMESTAMP_HEADER = "x-fuhuiyang-timestamp"
TOKEN_HEADER = "x-fuhuiyang-token"
REPLAY_WINDOW = timedelta(minutes=5)
ACK_WORDS = frozenset({"1", "收到", "已收到", "收到了", "确认", "好", "好的", "ok", "yes", "y"})


class WebhookError(ValueError):
    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.status = status
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Receipt:
    provider_id: str
    delivered: bool
    at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class Reply:
    phone: str
    text: str
    at: datetime | None = None

    @property
    def code(self) -> str | None:
        """The reply code quoted ("4821", "回复4821确认"): names the alert without a message id."""
        return code_in_reply(self.text)

    @property
    def acknowledges(self) -> bool:
        return self.code is not None or is_acknowledgement(self.text)


Inbound = Receipt | Reply


def is_acknowledgement(text: str) -> bool:
    """ "1", "收到", "１", "收到。", "OK!" ... all acknowledge."""
    folded = unicodedata.normalize("NFKC", text).strip().lower()
    folded = folded.strip(" .。!！,，~～")
    return folded in ACK_WORDS


def _headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _check_size(body: bytes) -> None:
    if len(body) > MAX_BODY:
        raise WebhookError(413, "too_large", f"{len(body)} bytes > {MAX_BODY}")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _refuse_nul(value: Any) -> None:
    # PostgreSQL text and jsonb cannot hold NUL: refuse it here rather than fail in the database.
    if _has_nul(value):
        raise WebhookError(400, "invalid", "NUL characters are not allowed")


def token_from_headers(headers: Mapping[str, str]) -> str | None:
    """The Aliyun callback token: the password of HTTP Basic credentials, or X-Fuhuiyang-Token."""
    h = _headers(headers)
    if h.get(TOKEN_HEADER):
        return h[TOKEN_HEADER]
    scheme, _, value = h.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2] or None


def sign_generic(body: bytes, secret: bytes, timestamp: int) -> str:
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def parse_generic(
    body: bytes, headers: Mapping[str, str], secret: bytes, now: datetime
) -> list[Inbound]:
    _check_size(body)
    h = _headers(headers)
    signature, stamp = h.get(SIGNATURE_HEADER), h.get(TIMESTAMP_HEADER)
    if not signature or not stamp:
        raise WebhookError(401, "unsigned", f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}")
    try:
        ts = int(stamp)
        sent_at = datetime.fromtimestamp(ts, UTC)
    except (ValueError, OverflowError, OSError):
        raise WebhookError(401, "bad_signature", "timestamp is not a unix time") from None
    if abs(now - sent_at) > REPLAY_WINDOW:
        raise WebhookError(401, "stale", "timestamp outside the 5-minute window")
    if not hmac.compare_digest(signature.encode(), sign_generic(body, secret, ts).encode()):
        raise WebhookError(401, "bad_signature", "signature does not match")
    data = _load_json(body)
    _refuse_nul(data)
    items = data if isinstance(data, list) else [data]
    return [_generic_item(item, i) for i, item in enumerate(items)]


def _generic_item(item: Any, index: int) -> Inbound:
    where = f"item {index}"
    if not isinstance(item, dict):
        raise WebhookError(400, "invalid", f"{where} is not an object")
    kind = item.get("type")
    if kind == "receipt":
        status = _text(item, "status", where)
        if status not in ("delivered", "failed", "undelivered"):
            raise WebhookError(
                400, "invalid", f"{where}: status {status!r} is not delivered/failed/undelivered"
            )
        error = item.get("error")
        return Receipt(
            provider_id=_text(item, "id", where),
            delivered=status == "delivered",
            at=_time(item.get("at"), where),
            error=str(error)[:200] if error is not None else None,
        )
    if kind == "reply":
        return Reply(
            phone=_text(item, "from", where),
            text=_text(item, "text", where),
            at=_time(item.get("at"), where),
        )
    raise WebhookError(400, "invalid", f"{where}: type must be receipt or reply, got {kind!r}")


def twilio_signature(url: str, form: Mapping[str, str], auth_token: str) -> str:
    payload = url + "".join(k + form[k] for k in sorted(form))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def parse_twilio(
    url: str, form: Mapping[str, str], signature: str | None, auth_token: str
) -> Inbound | None:
    """A Twilio status callback or incoming message; None for in-between statuses (queued, sent)."""
    if not signature:
        raise WebhookError(401, "unsigned", "missing X-Twilio-Signature")
    if not hmac.compare_digest(
        signature.encode(), twilio_signature(url, form, auth_token).encode()
    ):
        raise WebhookError(401, "bad_signature", "signature does not match")
    _refuse_nul(dict(form))
    status = form.get("MessageStatus") or form.get("SmsStatus")
    sid = form.get("MessageSid") or form.get("SmsSid")
    if status == "received" or (status is None and "Body" in form):
        phone, text = form.get("From"), form.get("Body")
        if not phone or text is None:
            raise WebhookError(400, "invalid", "incoming message without From or Body")
        return Reply(phone=phone, text=text)
    if not sid or not status:
        raise WebhookError(400, "invalid", "status callback without MessageSid or MessageStatus")
    if status in ("delivered", "undelivered", "failed"):
        return Receipt(
            provider_id=sid, delivered=status == "delivered", error=form.get("ErrorCode")
        )
    return None


def parse_aliyun(body: bytes, token: str | None, expected_token: str) -> list[Inbound]:
    """Aliyun SmsReport / SmsUp HTTP batch push (a JSON array)."""
    _check_size(body)
    if not token or not hmac.compare_digest(token.encode(), expected_token.encode()):
        raise WebhookError(401, "bad_token", "callback token missing or wrong")
    data = _load_json(body)
    _refuse_nul(data)
    if not isinstance(data, list):
        raise WebhookError(400, "invalid", "Aliyun pushes a JSON array")
    out: list[Inbound] = []
    for i, item in enumerate(data):
        where = f"item {i}"
        if not isinstance(item, dict):
            raise WebhookError(400, "invalid", f"{where} is not an object")
        if "content" in item:  # SmsUp: a reply
            out.append(
                Reply(
                    phone=_text(item, "phone_number", where),
                    text=str(item["content"]),
                    at=_aliyun_time(item.get("send_time"), where),
                )
            )
        elif "success" in item:  # SmsReport: a receipt
            out.append(
                Receipt(
                    provider_id=_text(item, "biz_id", where),
                    delivered=item["success"] is True,
                    at=_aliyun_time(item.get("report_time"), where),
                    error=None if item["success"] is True else str(item.get("err_code", ""))[:200],
                )
            )
        else:
            raise WebhookError(400, "invalid", f"{where} is neither a report nor an up-message")
    return out


def parse_tencent(body: bytes, token: str | None, expected_token: str) -> list[Inbound]:
    """Tencent Cloud SMS callbacks: delivery status (a JSON array) or a reply (one object)."""
    _check_size(body)
    if not token or not hmac.compare_digest(token.encode(), expected_token.encode()):
        raise WebhookError(401, "bad_token", "callback token missing or wrong")
    data = _load_json(body)
    _refuse_nul(data)
    if isinstance(data, dict):  # a reply
        where = "reply"
        stamp = data.get("time")
        if not isinstance(stamp, int) or isinstance(stamp, bool):
            raise WebhookError(400, "invalid", "reply: time must be unix seconds")
        return [Reply(phone=_text(data, "mobile", where), text=str(data.get("text", "")),
                      at=datetime.fromtimestamp(stamp, UTC))]
    if not isinstance(data, list):
        raise WebhookError(400, "invalid", "Tencent pushes a JSON array or object")
    out: list[Inbound] = []
    for i, item in enumerate(data):
        where = f"item {i}"
        if not isinstance(item, dict):
            raise WebhookError(400, "invalid", f"{where} is not an object")
        status = _text(item, "report_status", where)
        if status not in ("SUCCESS", "FAIL"):
            raise WebhookError(400, "invalid", f"{where}: report_status must be SUCCESS or FAIL")
        out.append(Receipt(
            provider_id=_text(item, "sid", where),
            delivered=status == "SUCCESS",
            at=_aliyun_time(item.get("user_receive_time"), where),
            error=None if status == "SUCCESS" else str(item.get("errmsg", ""))[:200],
        ))
    return out


def apply_reply(
    reply: Reply, dispatcher: Dispatcher, engine: AlertEngine, now: datetime
) -> str | None:
    """Acknowledge the alert the reply names by its code (matched by phone, code and time),
    or, for a bare "1"/"收到", the alert last texted to this phone; returns its id, or None."""
    if not reply.acknowledges:
        return None
    if reply.code is not None:
        alert_id = dispatcher.outbox.store.alert_for_reply(reply.phone, reply.code, reply.at or now)
    else:
        alert_id = dispatcher.last_alert_for(reply.phone)
    if alert_id is None:
        return None
    engine.acknowledge(alert_id, by=f"sms:{reply.phone}", at=reply.at or now)
    return alert_id


def _load_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookError(400, "bad_json", str(exc)[:120]) from None


def _text(item: Mapping[str, Any], name: str, where: str) -> str:
    value = item.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > 1000:
        raise WebhookError(400, "invalid", f"{where}: {name} must be a non-empty string")
    return value


def _time(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise WebhookError(400, "invalid", f"{where}: at is not an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_CHINA = timezone(timedelta(hours=8))


def _aliyun_time(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    try:  # "2017-08-30 00:00:00", Beijing time
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=_CHINA)
    except ValueError:
        raise WebhookError(
            400, "invalid", f"{where}: time {value!r} is not YYYY-MM-DD HH:MM:SS"
        ) from None
