"""A fake Tencent Cloud SMS (`SendSms`, API 2021-01-11) that enforces Tencent's documented rules.

- TC3-HMAC-SHA256 `Authorization` over the body, host and timestamp (AuthFailure.SignatureFailure,
  AuthFailure.SecretIdNotFound, AuthFailure.SignatureExpire beyond 5 minutes);
- the SDK app (InvalidParameterValue.SdkAppIdNotExist), the signature name: approved, 2–12
  characters (FailedOperation.SignatureIncorrectOrUnapproved);
- the template: known, approved and given exactly its number of values
  (FailedOperation.TemplateIncorrectOrUnapproved); each value at most `var_max` characters, 12
  on personal accounts (InvalidParameterValue.TemplateParameterLengthLimit);
- per number (in `SendStatusSet`): a mainland number (InvalidParameterValue.IncorrectPhoneNumber),
  the same content at most once in 30 s (LimitExceeded.PhoneNumberThirtySecondLimit) and at most
  `per_number_day` a natural day (LimitExceeded.PhoneNumberDailyLimit).

Delivery-status and reply callbacks are produced in Tencent's formats for the webhook tests.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from cloud.notify.fakes.server import FakeHttpServer
from cloud.notify.provider_pacing import provider_day_start
from cloud.notify.templates import (
    TENCENT_PERSONAL_VAR_MAX,
    SmsTemplate,
    check_signature,
    check_template,
)
from cloud.notify.tencent import tc3_authorization

_NUM = re.compile(r"\{(\d+)\}")
_CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Delivered:
    serial_no: str
    phone: str
    sign: str
    template_id: str
    params: list[str]
    text: str
    at: datetime
    session: str


@dataclass
class FakeTencentSms:
    secret_id: str = "AKIDfake"
    secret_key: str = "fake-key"
    sdk_app_id: str = "1400000001"
    signs: set[str] = field(default_factory=lambda: {"富慧养"})
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    var_max: int = TENCENT_PERSONAL_VAR_MAX
    same_content_gap: timedelta = timedelta(seconds=30)
    per_number_day: int = 10
    templates: dict[str, str] = field(default_factory=dict)  # TemplateId -> content ({1}, {2})
    delivered: list[Delivered] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: FakeHttpServer | None = None

    def submit(self, content: str) -> str:
        """Review a template written with {1}, {2}...; its TemplateId once approved."""
        as_named = _NUM.sub(lambda mt: "${v" + mt.group(1) + "}", content)
        problems = check_template(as_named)
        if problems:
            raise ValueError("; ".join(problems))
        template_id = str(2000000 + len(self.templates))
        self.templates[template_id] = content
        return template_id

    def approve(self, templates: Iterable[SmsTemplate]) -> dict[str, str]:
        return {t.name: self.submit(t.tencent_content) for t in templates}

    @property
    def url(self) -> str:
        assert self._server is not None
        return self._server.url

    def start(self) -> FakeTencentSms:
        self._server = FakeHttpServer(self.handle).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def handle(self, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        h = {k.lower(): v for k, v in headers.items()}
        with self.lock:
            error = self._auth(h, body)
            if error is None:
                try:
                    request = json.loads(body)
                except ValueError:
                    request = None
                if not isinstance(request, dict):
                    error = ("InvalidParameter", "request body is not a JSON object")
                else:
                    error = self._request_error(request)
            if error is not None:
                self.refused.append(error[0])
                return 200, {"Response": {"Error": {"Code": error[0], "Message": error[1]},
                                          "RequestId": f"fake-{len(self.refused)}"}}
            statuses = [self._send_one(request, phone) for phone in request["PhoneNumberSet"]]
            return 200, {"Response": {"SendStatusSet": statuses, "RequestId": f"fake-ok-{len(self.delivered)}"}}

    def _auth(self, h: dict[str, str], body: bytes) -> tuple[str, str] | None:
        auth = h.get("authorization", "")
        found = re.match(r"TC3-HMAC-SHA256 Credential=([^/]+)/", auth)
        if found is None:
            return "AuthFailure.InvalidAuthorization", "Authorization is not TC3-HMAC-SHA256"
        if found.group(1) != self.secret_id:
            return "AuthFailure.SecretIdNotFound", "The SecretId is not found"
        try:
            timestamp = int(h.get("x-tc-timestamp", ""))
        except ValueError:
            return "AuthFailure.InvalidAuthorization", "X-TC-Timestamp is missing"
        if abs(self.clock().timestamp() - timestamp) > 300:
            return "AuthFailure.SignatureExpire", "Signature expired"
        expected = tc3_authorization(
            self.secret_id, self.secret_key, "sms", h.get("host", ""), body.decode("utf-8", "replace"),
            timestamp, h.get("content-type", ""),
        )
        if auth != expected:
            return "AuthFailure.SignatureFailure", "The provided credentials could not be validated"
        if h.get("x-tc-action") != "SendSms":
            return "InvalidAction", "unknown action"
        return None

    def _request_error(self, request: dict[str, Any]) -> tuple[str, str] | None:
        if request.get("SmsSdkAppId") != self.sdk_app_id:
            return "InvalidParameterValue.SdkAppIdNotExist", "SdkAppId does not exist"
        sign = str(request.get("SignName", ""))
        if sign not in self.signs or check_signature(sign):
            return "FailedOperation.SignatureIncorrectOrUnapproved", "signature not approved"
        content = self.templates.get(str(request.get("TemplateId", "")))
        params = request.get("TemplateParamSet") or []
        if content is None or len(set(_NUM.findall(content))) != len(params):
            return ("FailedOperation.TemplateIncorrectOrUnapproved",
                    "template is not approved or request content does not match the approved template content")
        for value in params:
            if not isinstance(value, str) or len(value) > self.var_max:
                return ("InvalidParameterValue.TemplateParameterLengthLimit",
                        f"a template parameter is longer than {self.var_max} characters")
        phones = request.get("PhoneNumberSet")
        if not isinstance(phones, list) or not phones or len(phones) > 200:
            return "InvalidParameterValue.IncorrectPhoneNumber", "PhoneNumberSet must list 1-200 numbers"
        return None

    def _send_one(self, request: dict[str, Any], phone: Any) -> dict[str, Any]:
        def status(code: str, message: str, serial: str = "") -> dict[str, Any]:
            if code != "Ok":
                self.refused.append(code)
            return {"SerialNo": serial, "PhoneNumber": str(phone), "Fee": 1 if code == "Ok" else 0,
                    "SessionContext": request.get("SessionContext", ""), "Code": code,
                    "Message": message, "IsoCode": "CN"}

        if not isinstance(phone, str) or not re.fullmatch(r"\+861\d{10}", phone):
            return status("InvalidParameterValue.IncorrectPhoneNumber", "invalid mobile number")
        params = [str(p) for p in request["TemplateParamSet"]]
        text = f"【{request['SignName']}】" + _NUM.sub(
            lambda mt: params[int(mt.group(1)) - 1], self.templates[str(request["TemplateId"])]
        )
        now = self.clock()
        mine = [d for d in self.delivered if d.phone == phone]
        if any(d.text == text and now - d.at < self.same_content_gap for d in mine):
            return status("LimitExceeded.PhoneNumberThirtySecondLimit",
                          "the same content was sent to this number within 30 seconds")
        day = provider_day_start(now)
        if sum(1 for d in mine if d.at >= day) >= self.per_number_day:
            return status("LimitExceeded.PhoneNumberDailyLimit", "daily limit for this number reached")
        serial = f"5000:{1045710669157053657849499619 + len(self.delivered)}"
        self.delivered.append(Delivered(serial, phone, str(request["SignName"]), str(request["TemplateId"]),
                                        params, text, now, str(request.get("SessionContext", ""))))
        return status("Ok", "send success", serial)

    def status_callback(self, serial_no: str, success: bool = True) -> list[dict[str, Any]]:
        sent = next(d for d in self.delivered if d.serial_no == serial_no)
        return [{
            "user_receive_time": self.clock().astimezone(_CHINA).strftime("%Y-%m-%d %H:%M:%S"),
            "nationcode": "86", "mobile": sent.phone.removeprefix("+86"),
            "report_status": "SUCCESS" if success else "FAIL", "errmsg": "DELIVRD" if success else "MK:0001",
            "description": "用户短信送达成功" if success else "用户短信接收失败", "sid": serial_no,
        }]

    def reply_callback(self, phone: str, text: str, at: datetime | None = None) -> dict[str, Any]:
        return {"extend": "", "mobile": phone.removeprefix("+86"), "nationcode": "86",
                "sign": next(iter(self.signs)), "text": text,
                "time": int((at or self.clock()).timestamp())}
