"""SMS provider adapters behind one Protocol: a configurable generic HTTP gateway, Aliyun SMS
(dysmsapi SendSms, RPC signature v1), Tencent Cloud SMS (cloud/notify/tencent.py) and Twilio.

Each adapter is a thin translation: one HTTP request, one classification of the answer into
accepted (provider message id), a transient error (retry later), a rate limit (retry when the
provider's window opens) or a permanent one (give up; `cause` says whom to tell: an operator
for a template, signature or credential refusal, the recipient's record for a bad number).
Base URLs are settings, so tests point them at a local server (cloud/notify/fakes).

Mainland providers send only approved templates: `send_template` carries the template's name
and its short values (cloud/notify/templates.py); `send` with free text is for gateways that
take it (generic HTTP, Twilio, the demo's print sink).
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
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, runtime_checkable

from cloud.notify.provider_pacing import ALIYUN_LIMITS, ProviderLimits
from cloud.notify.templates import ALIYUN_VAR_MAX, CATALOGUE, fit

log = logging.getLogger(__name__)

# Whom a permanent refusal concerns: an operator (template, signature, credentials), the
# recipient's record (a number the provider will not send to), or nobody in particular.
Cause = Literal["template", "config", "recipient", "other"]


class SendError(Exception):
    def __init__(self, detail: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.code = code


class TransientSendError(SendError):
    """Worth retrying: network trouble, 5xx, rate limiting."""


class RateLimitedSendError(TransientSendError):
    """The provider's per-number limit: retry after `retry_after`, or on its next day."""

    def __init__(
        self,
        detail: str,
        code: str,
        retry_after: timedelta | None = None,
        next_day: bool = False,
        status: int | None = None,
    ) -> None:
        super().__init__(detail, status, code)
        self.retry_after = retry_after
        self.next_day = next_day


class PermanentSendError(SendError):
    """Retrying will not help: bad number, bad credentials, rejected content."""

    def __init__(
        self, detail: str, status: int | None = None, code: str | None = None, cause: Cause = "other"
    ) -> None:
        super().__init__(detail, status, code)
        self.cause: Cause = cause


class SmsProvider(Protocol):
    name: str

    def send(self, to: str, text: str, key: str) -> str:
        """Send one SMS; return the provider's message id. `key` is our idempotency key."""
        ...


@dataclass(frozen=True)
class SmsRequest:
    to: str
    text: str  # what the recipient reads, for the record; the provider builds it from the template
    key: str
    template: str
    params: Mapping[str, str]


@runtime_checkable
class TemplateSmsProvider(Protocol):
    """A provider that sends approved templates only (Aliyun, Tencent Cloud SMS)."""

    name: str
    sign_name: str
    limits: ProviderLimits

    def send(self, to: str, text: str, key: str) -> str: ...

    def send_template(self, request: SmsRequest) -> str: ...


def refit(request: SmsRequest, var_max: int) -> list[tuple[str, str]]:
    """The request's values in template order, each within this account's limit."""
    template = CATALOGUE.get(request.template)
    if template is None:
        raise PermanentSendError(f"template {request.template} is not in our catalogue", cause="template")
    return [
        (v.name, fit(v.name, request.params.get(v.name), min(v.max_len, var_max)))
        for v in template.variables
    ]


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


# Aliyun error codes (SMS API error-code page, help.aliyun.com/document_detail/101346.html).
ALIYUN_TRANSIENT = {
    "isp.SYSTEM_ERROR",
    "isp.RAM_PERMISSION_DENY",
    "Throttling.User",
    "ServiceUnavailable",
    "isv.AMOUNT_NOT_ENOUGH",  # clears when the account is topped up
}
ALIYUN_TEMPLATE_REFUSALS = {
    "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.TEMPLATE_MISSING_PARAMETERS",
    "isv.PARAM_LENGTH_LIMIT",
    "isv.INVALID_JSON_PARAM",
    "isv.INVALID_PARAMETERS",
    "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.PARAM_NOT_SUPPORT_URL",
    "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.SMS_SIGNATURE_SCENE_ILLEGAL",
    "isv.SIGN_STATE_ILLEGAL",
}
ALIYUN_CONFIG_REFUSALS = {
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId.NotFound",
    "isv.ACCOUNT_NOT_EXISTS",
    "isv.PRODUCT_UNSUBSCRIBE",
    "isv.OUT_OF_SERVICE",
}
ALIYUN_RECIPIENT_REFUSALS = {"isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT"}


def aliyun_refusal(status: int, code: str, message: str) -> SendError:
    """Aliyun's answer, classified as its error-code page describes it."""
    detail = f"aliyun {status} {code}: {message}"
    if code == "isv.BUSINESS_LIMIT_CONTROL":
        # "触发分钟级流控" / "触发小时级流控" / "触发天级流控": the message says which window.
        if "天" in message or "day" in message.lower():
            return RateLimitedSendError(detail, code, next_day=True, status=status)
        if "小时" in message or "hour" in message.lower():
            return RateLimitedSendError(detail, code, timedelta(hours=1), status=status)
        return RateLimitedSendError(detail, code, timedelta(minutes=1), status=status)
    if code in ("isv.DAY_LIMIT_CONTROL", "isv.MONTH_LIMIT_CONTROL"):
        return RateLimitedSendError(detail, code, next_day=True, status=status)
    if code in ALIYUN_TRANSIENT or status >= 500 or status == 429:
        return TransientSendError(detail, status, code)
    if code in ALIYUN_TEMPLATE_REFUSALS:
        return PermanentSendError(detail, status, code, cause="template")
    if code in ALIYUN_CONFIG_REFUSALS:
        return PermanentSendError(detail, status, code, cause="config")
    if code in ALIYUN_RECIPIENT_REFUSALS:
        return PermanentSendError(detail, status, code, cause="recipient")
    return PermanentSendError(detail, status, code)


@dataclass
class AliyunSmsProvider:
    """Aliyun SMS `SendSms` with one approved template per alert kind.

    `template_codes` maps our template names (`fuhuiyang alerts templates --provider aliyun`)
    to the TemplateCode Aliyun assigned on approval. `template_code` is the old single-variable
    template (`${content}` carrying the whole text): kept only for free text sent through
    `send`, which Aliyun's review refuses for new accounts.
    """

    access_key_id: str
    access_key_secret: str
    sign_name: str
    template_codes: Mapping[str, str] = field(default_factory=dict)
    template_code: str | None = None
    template_param: str = "content"
    var_max: int = ALIYUN_VAR_MAX
    limits: ProviderLimits = ALIYUN_LIMITS
    endpoint: str = "https://dysmsapi.aliyuncs.com/"
    region: str = "cn-hangzhou"
    timeout_s: float = 10.0
    transport: Transport = urllib_transport
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    nonce: Callable[[], str] = field(default=lambda: uuid.uuid4().hex)
    name: str = "aliyun"

    def send(self, to: str, text: str, key: str) -> str:
        if not self.template_code:
            raise PermanentSendError(
                "aliyun sends approved templates only; this message has none", cause="template"
            )
        return self._send(to, self.template_code, {self.template_param: text}, key)

    def send_template(self, request: SmsRequest) -> str:
        code = self.template_codes.get(request.template)
        if not code:
            raise PermanentSendError(
                f"no Aliyun TemplateCode configured for {request.template} "
                "(FUHUIYANG_SMS_TEMPLATE_CODES)",
                cause="template",
            )
        return self._send(request.to, code, dict(refit(request, self.var_max)), request.key)

    def _send(self, to: str, template_code: str, params: Mapping[str, str], key: str) -> str:
        fields = {
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
            "TemplateCode": template_code,
            "TemplateParam": json.dumps(dict(params), ensure_ascii=False),
            "Timestamp": self.clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": "2017-05-25",
        }
        fields["Signature"] = aliyun_signature(fields, self.access_key_secret, "POST")
        body = urllib.parse.urlencode(fields).encode()
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
        raise aliyun_refusal(answer.status, code, str(data.get("Message", "")))


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
