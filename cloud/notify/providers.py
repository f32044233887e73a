"""SMS provider adapters behind one Protocol: a configurable generic HTTP gateway, Aliyun SMS
(dysmsapi SendSms, RPC signature v1) and Twilio (Messages API).

Each adapter is a thin translation: one HTTP request, one classification of the answer into
accepted (provider message id), a transient error (retry later) or a permanent one (give up).
Base URLs are settings, so tests point them at a local server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

log = logging.getLogger(__name__)


class SendError(Exception):
    def __init__(self, detail: str, status: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status


class TransientSendError(SendError):
    """Worth retrying: network trouble, 5xx, rate limiting."""


class PermanentSendError(SendError):
    """Retrying will not help: bad number, bad credentials, rejected content."""


class SmsProvider(Protocol):
    name: str

    def send(self, to: str, text: str, key: str) -> str:
        """Send one SMS; return the provider's message id. `key` is our idempotency key."""
        ...


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: bytes


Transport = Callable[[urllib.request.Request, float], HttpAnswer]


def urllib_transport(request: urllib.request.Request, timeout: float) -> HttpAnswer:
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - URL is configuration
            return HttpAnswer(response.status, response.read(64 * 1024))
    except urllib.error.HTTPError as exc:
        return HttpAnswer(exc.code, exc.read(64 * 1024) if exc.fp else b"")
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
        raise TransientSendError(f"cannot reach {request.full_url.split('?')[0]}: {exc}") from None


def _classify(status: int, body: bytes, provider: str) -> None:
    if 200 <= status < 300:
        return
    snippet = body[:200].decode("utf-8", "replace")
    if status == 429 or status >= 500 or status == 408:
        raise TransientSendError(f"{provider} answered {status}: {snippet}", status)
    raise PermanentSendError(f"{provider} answered {status}: {snippet}", status)


def _json(body: bytes, provider: str) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise TransientSendError(f"{provider} sent a non-JSON answer") from None
    if not isinstance(data, dict):
        raise TransientSendError(f"{provider} sent JSON that is not an object")
    return data


def _accepted_json(body: bytes) -> dict[str, Any]:
    """The answer to an accepted request; an unreadable one is logged, not retried."""
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        log.warning("SMS provider accepted a message with an unreadable answer")
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class GenericHttpProvider:
    """POST JSON to a configurable SMS gateway; most Chinese aggregators accept a shape like this.

    `fields` maps our names (to, text, key) to the gateway's; `id_field` names the message id
    in its answer. Sends the idempotency key as a header so a gateway that honours it drops
    our retries of a message it already accepted.
    """

    url: str
    token: str | None = None
    fields: Mapping[str, str] = field(
        default_factory=lambda: {"to": "to", "text": "text", "key": "id"}
    )
    extra: Mapping[str, Any] = field(default_factory=dict)
    id_field: str = "id"
    timeout_s: float = 10.0
    transport: Transport = urllib_transport
    name: str = "http"

    def send(self, to: str, text: str, key: str) -> str:
        body = dict(self.extra)
        body.update({self.fields["to"]: to, self.fields["text"]: text, self.fields["key"]: key})
        headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(
            self.url,
            data=json.dumps(body, ensure_ascii=False).encode(),
            headers=headers,
            method="POST",
        )
        answer = self.transport(request, self.timeout_s)
        _classify(answer.status, answer.body, self.name)
        # Accepted (2xx): never raise from here on, or the retry would send it twice.
        data = _accepted_json(answer.body)
        return str(data.get(self.id_field) or key)


# Aliyun error codes that clear up by themselves (flow control, internal trouble).
ALIYUN_TRANSIENT = {
    "isv.BUSINESS_LIMIT_CONTROL",
    "isp.SYSTEM_ERROR",
    "isp.RAM_PERMISSION_DENY",
    "Throttling.User",
    "ServiceUnavailable",
}


@dataclass
class AliyunSmsProvider:
    """Aliyun SMS `SendSms`. Mainland SMS must use an approved template: ours has one
    variable, `${content}` by default, that carries the rendered alert text."""

    access_key_id: str
    access_key_secret: str
    sign_name: str
    template_code: str
    template_param: str = "content"
    endpoint: str = "https://dysmsapi.aliyuncs.com/"
    region: str = "cn-hangzhou"
    timeout_s: float = 10.0
    transport: Transport = urllib_transport
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    nonce: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)
    name: str = "aliyun"

    def send(self, to: str, text: str, key: str) -> str:
        params = {
            "AccessKeyId": self.access_key_id,
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": key[:64],
            "PhoneNumbers": to.removeprefix("+86"),
            "RegionId": self.region,
            "SignName": self.sign_name,
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": self.nonce(),
            "SignatureVersion": "1.0",
            "TemplateCode": self.template_code,
            "TemplateParam": json.dumps({self.template_param: text}, ensure_ascii=False),
            "Timestamp": self.clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        params["Signature"] = aliyun_signature(params, self.access_key_secret, "POST")
        body = urllib.parse.urlencode(params).encode()
        request = urllib.request.Request(
            self.endpoint,
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            method="POST",
        )
        answer = self.transport(request, self.timeout_s)
        data = _json(answer.body, self.name) if answer.body else {}
        code = str(data.get("Code", ""))
        if 200 <= answer.status < 300 and code == "OK":
            return str(data.get("BizId") or key)
        detail = f"aliyun {answer.status} {code}: {data.get('Message', '')}"
        if code in ALIYUN_TRANSIENT or answer.status >= 500 or answer.status == 429:
            raise TransientSendError(detail, answer.status)
        raise PermanentSendError(detail, answer.status)


def _pct(value: str) -> str:
    # Aliyun's POP encoding: RFC 3986 unreserved kept, space as %20, '*' and '~' fixed up.
    return urllib.parse.quote(value, safe="~")


def aliyun_signature(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    canonical = "&".join(f"{_pct(k)}={_pct(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{_pct('/')}&{_pct(canonical)}"
    digest = hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass
class TwilioProvider:
    account_sid: str
    auth_token: str
    from_number: str
    base_url: str = "https://api.twilio.com"
    status_callback: str | None = None
    timeout_s: float = 10.0
    transport: Transport = urllib_transport
    name: str = "twilio"

    def send(self, to: str, text: str, key: str) -> str:
        form = {"To": to, "From": self.from_number, "Body": text}
        if self.status_callback:
            form["StatusCallback"] = self.status_callback
        url = f"{self.base_url.rstrip('/')}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        auth = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        request = urllib.request.Request(
            url,
            data=urllib.parse.urlencode(form).encode(),
            headers={
                "Authorization": f"Basic {auth}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
            method="POST",
        )
        answer = self.transport(request, self.timeout_s)
        _classify(answer.status, answer.body, self.name)
        data = _accepted_json(answer.body)
        sid = data.get("sid")
        if not sid:
            log.warning("twilio accepted message %s without a sid; receipts cannot be matched", key)
        return str(sid or key)
