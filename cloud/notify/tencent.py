"""Tencent Cloud SMS `SendSms` (API 3.0, version 2021-01-11) with TC3-HMAC-SHA256 signing.

The signature follows Tencent's "Signature v3" document: a canonical request (method, path,
query, the signed headers `content-type` and `host`, the SHA-256 of the body), a string to
sign with the timestamp and the credential scope `<UTC date>/<service>/tc3_request`, and a key
derived by HMAC-SHA256 chaining "TC3"+SecretKey over the date, the service and "tc3_request".
tests/alerts/test_sms_providers.py checks it against the document's published example.

A request can be accepted while the number in it is refused: the per-number outcome is in
`SendStatusSet[].Code` ("Ok", or e.g. LimitExceeded.PhoneNumberThirtySecondLimit).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cloud.notify.provider_pacing import TENCENT_LIMITS, ProviderLimits
from cloud.notify.providers import (
    PermanentSendError,
    RateLimitedSendError,
    SendError,
    SmsRequest,
    TransientSendError,
    Transport,
    refit,
    urllib_transport,
)
from cloud.notify.templates import TENCENT_PERSONAL_VAR_MAX

CONTENT_TYPE = "application/json; charset=utf-8"
VERSION = "2021-01-11"

# Error codes from Tencent Cloud SMS's error-code page (cloud.tencent.com/document/api/382/59177).
_RATE = {
    "LimitExceeded.PhoneNumberThirtySecondLimit": (timedelta(seconds=30), False),
    "LimitExceeded.PhoneNumberOneHourLimit": (timedelta(hours=1), False),
    "LimitExceeded.DeliveryFrequencyLimit": (timedelta(hours=1), False),
    "LimitExceeded.PhoneNumberDailyLimit": (None, True),
    "LimitExceeded.PhoneNumberSameContentDailyLimit": (None, True),
    "LimitExceeded.DailyLimit": (None, True),
    "LimitExceeded.AppDailyLimit": (None, True),
}
_TEMPLATE = {
    "FailedOperation.TemplateIncorrectOrUnapproved",
    "FailedOperation.SignatureIncorrectOrUnapproved",
    "FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
    "FailedOperation.ContainSensitiveWord",
    "InvalidParameterValue.TemplateParameterLengthLimit",
    "InvalidParameterValue.TemplateParameterFormatError",
    "InvalidParameterValue.ContentLengthLimit",
    "InvalidParameterValue.ProhibitedUseUrlInTemplateParameter",
}
_RECIPIENT = {
    "InvalidParameterValue.IncorrectPhoneNumber",
    "FailedOperation.PhoneNumberInBlacklist",
    "UnsupportedOperation.ContainDomesticAndInternationalPhoneNumber",
}
_CONFIG_PREFIXES = ("AuthFailure", "UnauthorizedOperation", "InvalidParameterValue.SdkAppIdNotExist")
_TRANSIENT_PREFIXES = ("InternalError", "RequestLimitExceeded", "ResourceUnavailable")


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def tc3_authorization(
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    payload: str,
    timestamp: int,
    content_type: str = CONTENT_TYPE,
) -> str:
    """The `Authorization` header of a POST to "/" with a JSON body."""
    canonical_request = "\n".join(
        (
            "POST",
            "/",
            "",
            f"content-type:{content_type}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(payload.encode()).hexdigest(),
        )
    )
    date = datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    scope = f"{date}/{service}/tc3_request"
    to_sign = "\n".join(
        ("TC3-HMAC-SHA256", str(timestamp), scope, hashlib.sha256(canonical_request.encode()).hexdigest())
    )
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), service), "tc3_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"TC3-HMAC-SHA256 Credential={secret_id}/{scope}, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )


def tencent_refusal(code: str, message: str, status: int = 200) -> SendError:
    detail = f"tencent {code}: {message}"
    if code in _RATE:
        after, next_day = _RATE[code]
        return RateLimitedSendError(detail, code, after, next_day, status)
    if code in _TEMPLATE:
        return PermanentSendError(detail, status, code, cause="template")
    if code in _RECIPIENT:
        return PermanentSendError(detail, status, code, cause="recipient")
    if code.startswith(_CONFIG_PREFIXES):
        return PermanentSendError(detail, status, code, cause="config")
    if code.startswith(_TRANSIENT_PREFIXES) or status >= 500 or status == 429:
        return TransientSendError(detail, status, code)
    return PermanentSendError(detail, status, code)


@dataclass
class TencentSmsProvider:
    """`template_ids` maps our template names to the TemplateId Tencent assigned on approval.

    `var_max` is the account's per-variable limit: 12 for personal accounts; set it lower
    (6) where the console says so, or higher for enterprise accounts.
    """

    secret_id: str
    secret_key: str
    sdk_app_id: str
    sign_name: str
    template_ids: Mapping[str, str] = field(default_factory=dict)
    var_max: int = TENCENT_PERSONAL_VAR_MAX
    limits: ProviderLimits = TENCENT_LIMITS
    endpoint: str = "https://sms.tencentcloudapi.com/"
    region: str = "ap-guangzhou"
    timeout_s: float = 10.0
    transport: Transport = urllib_transport
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    name: str = "tencent"

    def send(self, to: str, text: str, key: str) -> str:
        raise PermanentSendError(
            "tencent sends approved templates only; this message has none", cause="template"
        )

    def send_template(self, request: SmsRequest) -> str:
        template_id = self.template_ids.get(request.template)
        if not template_id:
            raise PermanentSendError(
                f"no Tencent TemplateId configured for {request.template} "
                "(FUHUIYANG_SMS_TEMPLATE_CODES)",
                cause="template",
            )
        values = [value for _, value in refit(request, self.var_max)]
        return self._send(request.to, template_id, values, request.key)

    def _send(self, to: str, template_id: str, values: list[str], key: str) -> str:
        body = {
            "PhoneNumberSet": [_e164(to)],
            "SmsSdkAppId": self.sdk_app_id,
            "SignName": self.sign_name,
            "TemplateId": template_id,
            "TemplateParamSet": values,
            "SessionContext": key[:500],
        }
        payload = json.dumps(body, ensure_ascii=False)
        host = urllib.parse.urlsplit(self.endpoint).netloc
        timestamp = int(self.clock().timestamp())
        headers = {
            "Authorization": tc3_authorization(
                self.secret_id, self.secret_key, "sms", host, payload, timestamp
            ),
            "Content-Type": CONTENT_TYPE,
            "Host": host,
            "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": VERSION,
            "X-TC-Region": self.region,
        }
        http = urllib.request.Request(
            self.endpoint, data=payload.encode(), headers=headers, method="POST"
        )
        answer = self.transport(http, self.timeout_s)
        if answer.status >= 500 or answer.status == 429:
            raise TransientSendError(f"tencent answered {answer.status}", answer.status)
        response = _response(answer.body)
        error = response.get("Error")
        if isinstance(error, dict):
            raise tencent_refusal(str(error.get("Code", "")), str(error.get("Message", "")), answer.status)
        statuses = response.get("SendStatusSet")
        if not isinstance(statuses, list) or not statuses or not isinstance(statuses[0], dict):
            raise TransientSendError("tencent answered without a SendStatusSet")
        status = statuses[0]
        code = str(status.get("Code", ""))
        if code == "Ok":
            return str(status.get("SerialNo") or key)
        raise tencent_refusal(code, str(status.get("Message", "")), answer.status)


def _e164(phone: str) -> str:
    digits = phone.removeprefix("+")
    if digits.startswith("86") and len(digits) == 13:
        return "+" + digits
    if len(digits) == 11 and digits.startswith("1"):
        return "+86" + digits
    return phone if phone.startswith("+") else "+" + digits


def _response(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise TransientSendError("tencent sent a non-JSON answer") from None
    response = data.get("Response") if isinstance(data, dict) else None
    if not isinstance(response, dict):
        raise TransientSendError("tencent answered without a Response object")
    return response
