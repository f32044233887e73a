"""A fake Aliyun SMS (dysmsapi `SendSms`) that enforces Aliyun's documented rules.

- the RPC signature (HMAC-SHA1 over the sorted, percent-encoded parameters) and the AccessKeyId;
- the signature name: approved, 2–12 characters (isv.SMS_SIGNATURE_ILLEGAL);
- the template: known and approved (isv.SMS_TEMPLATE_ILLEGAL), every variable given
  (isv.TEMPLATE_MISSING_PARAMETERS), each 1–35 characters (isv.PARAM_LENGTH_LIMIT), no URL
  (isv.PARAM_NOT_SUPPORT_URL), TemplateParam a JSON object of strings (isv.INVALID_JSON_PARAM);
- the number: an 11-digit mainland mobile (isv.MOBILE_NUMBER_ILLEGAL);
- flow control: 50 notifications a natural day (Beijing) per number, signature and template
  (isv.BUSINESS_LIMIT_CONTROL, "触发天级流控Permits:50").

Templates go through review (`submit`): two adjacent variables, a variable-only template or
【】 in the content are refused as Aliyun's template rules refuse them. Receipts (SmsReport)
and replies (SmsUp) are produced in Aliyun's push format for the webhook tests.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from cloud.notify.fakes.server import FakeHttpServer
from cloud.notify.provider_pacing import provider_day_start
from cloud.notify.providers import aliyun_signature
from cloud.notify.templates import ALIYUN_VAR_MAX, SmsTemplate, check_signature, check_template

_VAR = re.compile(r"\$\{([A-Za-z][A-Za-z0-9_]*)\}")
_CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Delivered:
    biz_id: str
    out_id: str
    phone: str
    sign: str
    template_code: str
    params: dict[str, str]
    text: str
    at: datetime


@dataclass
class FakeAliyunSms:
    access_key_id: str = "fake-ak"
    access_key_secret: str = "fake-secret"
    signs: set[str] = field(default_factory=lambda: {"富慧养"})
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    per_template_day: int = 50
    var_max: int = ALIYUN_VAR_MAX
    templates: dict[str, str] = field(default_factory=dict)  # TemplateCode -> content
    delivered: list[Delivered] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # the code of each refusal, in order
    on_delivered: Callable[[Delivered], None] | None = None  # e.g. the demo's SMS sink
    lock: threading.Lock = field(default_factory=threading.Lock)
    _server: FakeHttpServer | None = None

    # -- review -------------------------------------------------------------------------
    def submit(self, content: str) -> str:
        """Review a template; its TemplateCode once approved. ValueError says why not."""
        problems = check_template(content, self.var_max)
        if problems:
            raise ValueError("; ".join(problems))
        code = f"SMS_{460000000 + len(self.templates)}"
        self.templates[code] = content
        return code

    def approve(self, templates: Iterable[SmsTemplate]) -> dict[str, str]:
        """Submit our catalogue; our template name -> TemplateCode."""
        return {t.name: self.submit(t.content) for t in templates}

    # -- HTTP ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None
        return self._server.url

    def start(self) -> FakeAliyunSms:
        self._server = FakeHttpServer(self.handle).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()

    def handle(self, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        with self.lock:
            status, code, message, extra = self._judge(form)
            if code != "OK":
                self.refused.append(code)
        return status, {"Code": code, "Message": message, "RequestId": f"fake-{len(self.refused)}", **extra}

    def _judge(self, form: dict[str, str]) -> tuple[int, str, str, dict[str, Any]]:
        signature = form.pop("Signature", "")
        if form.get("AccessKeyId") != self.access_key_id:
            return 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.", {}
        if signature != aliyun_signature(form, self.access_key_secret, "POST"):
            return 400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.", {}
        if form.get("Action") != "SendSms":
            return 400, "InvalidAction.NotFound", "Specified api is not found", {}
        sign = form.get("SignName", "")
        if sign not in self.signs or check_signature(sign):
            return 200, "isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名", {}
        phone = form.get("PhoneNumbers", "")
        if not re.fullmatch(r"1\d{10}", phone):
            return 200, "isv.MOBILE_NUMBER_ILLEGAL", "非法手机号", {}
        content = self.templates.get(form.get("TemplateCode", ""))
        if content is None:
            return 200, "isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板", {}
        try:
            params = json.loads(form.get("TemplateParam", "{}"))
        except ValueError:
            return 200, "isv.INVALID_JSON_PARAM", "JSON参数不合法", {}
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            return 200, "isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值", {}
        names = _VAR.findall(content)
        missing = [n for n in names if n not in params]
        if missing:
            return 200, "isv.TEMPLATE_MISSING_PARAMETERS", f"模板变量缺少对应参数值: {missing[0]}", {}
        for name in names:
            if not 1 <= len(params[name]) <= self.var_max:
                return 200, "isv.PARAM_LENGTH_LIMIT", f"参数超出长度限制: {name}", {}
            if re.search(r"https?://|www\.", params[name]):
                return 200, "isv.PARAM_NOT_SUPPORT_URL", "不支持url为变量", {}
        now = self.clock()
        day = provider_day_start(now)
        today = sum(
            1
            for d in self.delivered
            if d.phone == phone and d.sign == sign and d.template_code == form["TemplateCode"] and d.at >= day
        )
        if today >= self.per_template_day:
            return 200, "isv.BUSINESS_LIMIT_CONTROL", f"触发天级流控Permits:{self.per_template_day}", {}
        text = f"【{sign}】" + _VAR.sub(lambda mt: params[mt.group(1)], content)
        biz_id = f"{900000 + len(self.delivered)}^0"
        sent = Delivered(biz_id, form.get("OutId", ""), phone, sign, form["TemplateCode"], params, text, now)
        self.delivered.append(sent)
        if self.on_delivered is not None:
            self.on_delivered(sent)
        return 200, "OK", "OK", {"BizId": biz_id}

    # -- pushes -------------------------------------------------------------------------
    def report(self, biz_id: str, success: bool = True) -> list[dict[str, Any]]:
        """An SmsReport push for one message (Aliyun's batch format)."""
        sent = next(d for d in self.delivered if d.biz_id == biz_id)
        at = self.clock().astimezone(_CHINA).strftime("%Y-%m-%d %H:%M:%S")
        return [{
            "phone_number": sent.phone, "send_time": sent.at.astimezone(_CHINA).strftime("%Y-%m-%d %H:%M:%S"),
            "report_time": at, "success": success, "err_code": "DELIVERED" if success else "MK:0001",
            "err_msg": "用户接收成功" if success else "失败", "sms_size": "1", "biz_id": biz_id,
            "out_id": sent.out_id,
        }]

    def up(self, phone: str, content: str, at: datetime | None = None) -> list[dict[str, Any]]:
        """An SmsUp push: a reply, with no message id (match it by content and time)."""
        when = (at or self.clock()).astimezone(_CHINA).strftime("%Y-%m-%d %H:%M:%S")
        return [{"phone_number": phone.removeprefix("+86"), "send_time": when, "content": content,
                 "sign_name": next(iter(self.signs)), "dest_code": "1", "sequence_id": len(self.delivered)}]
