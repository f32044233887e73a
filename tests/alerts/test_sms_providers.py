"""Aliyun and Tencent Cloud SMS adapters against local fakes that enforce the providers' rules.

The fakes refuse what the providers refuse (a too-long variable, an unknown template, a
rate-limit breach, a bad number), with the providers' own codes; the outbox handles each
refusal as the provider's documentation says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest

from cloud.alerts.messages import MessageInput
from cloud.alerts.model import Severity
from cloud.notify.fakes.aliyun import FakeAliyunSms
from cloud.notify.fakes.tencent import FakeTencentSms
from cloud.notify.outbox import MemoryOutboxStore, Outbox, OutMessage, OutState
from cloud.notify.providers import (
    AliyunSmsProvider,
    PermanentSendError,
    RateLimitedSendError,
    SmsRequest,
    aliyun_signature,
)
from cloud.notify.refusals import MemoryRefusalLog
from cloud.notify.templates import CATALOGUE, render_alert
from cloud.notify.tencent import TencentSmsProvider, tc3_authorization
from tests.alerts.factories import T0

PHONE = "+8613800000001"


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def aliyun(clock: Clock) -> Iterator[FakeAliyunSms]:
    fake = FakeAliyunSms(clock=clock).start()
    yield fake
    fake.stop()


@pytest.fixture
def tencent(clock: Clock) -> Iterator[FakeTencentSms]:
    fake = FakeTencentSms(clock=clock).start()
    yield fake
    fake.stop()


def _aliyun_provider(fake: FakeAliyunSms, clock: Callable[[], datetime], **kw: object) -> AliyunSmsProvider:
    codes = fake.approve(CATALOGUE.values())
    return AliyunSmsProvider(fake.access_key_id, fake.access_key_secret, "富慧养", template_codes=codes,
                             endpoint=fake.url, clock=clock, **kw)  # type: ignore[arg-type]


def _tencent_provider(fake: FakeTencentSms, clock: Callable[[], datetime], **kw: object) -> TencentSmsProvider:
    ids = fake.approve(CATALOGUE.values())
    return TencentSmsProvider(fake.secret_id, fake.secret_key, fake.sdk_app_id, "富慧养", template_ids=ids,
                              endpoint=fake.url, clock=clock, **kw)  # type: ignore[arg-type]


def _message(i: int, kind: str = "mortality", severity: Severity = Severity.CRITICAL,
             phone: str = PHONE, place: str = "李家坪鸡场2号舍") -> OutMessage:
    msg = MessageInput(kind=kind, severity=severity, value=2.5, threshold=20.0,
                       evidence={"deaths": 25 + i, "pct": 2.5}, place=place)
    sms = render_alert(msg, str(4000 + i), "富慧养")
    return OutMessage(key=f"a{i}:farmer:r1", alert_id=f"a{i}", recipient="r1", phone=phone, text=sms.text,
                      severity=severity, created_at=T0, not_before=T0, template=sms.template,
                      params=sms.params, reply_code=sms.reply_code)


# -- signing: the providers' published example vectors ----------------------------------------

def test_aliyun_sendsms_signature_matches_the_documented_example() -> None:
    # Aliyun SMS "HTTP protocol and signature" example: testId / testSecret, GET.
    params = {
        "AccessKeyId": "testId", "Action": "SendSms", "Format": "XML", "OutId": "123",
        "PhoneNumbers": "15300000001", "RegionId": "cn-hangzhou", "SignName": "阿里云短信测试专用",
        "SignatureMethod": "HMAC-SHA1", "SignatureNonce": "45e25e9b-0a6f-4070-8c85-2956eda1b466",
        "SignatureVersion": "1.0", "TemplateCode": "SMS_71390007", "TemplateParam": '{"customer":"test"}',
        "Timestamp": "2017-07-12T02:42:19Z", "Version": "2017-05-25",
    }
    assert aliyun_signature(params, "testSecret", "GET") == "zJDF+Lrzhj/ThnlvIToysFRq6t4="


def test_tc3_signature_matches_the_documented_example() -> None:
    # Tencent Cloud "Signature v3" example (CVM DescribeInstances, 2019-02-25).
    payload = '{"Limit": 1, "Filters": [{"Values": ["\\u672a\\u547d\\u540d"], "Name": "instance-name"}]}'
    auth = tc3_authorization("AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******", "Gu5t9xGARNpq86cd98joQYCN3*******",
                             "cvm", "cvm.tencentcloudapi.com", payload, 1551113065)
    assert auth == (
        "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3*******/2019-02-25/cvm/tc3_request, "
        "SignedHeaders=content-type;host, "
        "Signature=2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c"
    )


# -- accepted -----------------------------------------------------------------------------------

def test_aliyun_sends_each_alert_kind_through_its_own_template(aliyun: FakeAliyunSms, clock: Clock) -> None:
    outbox = Outbox(MemoryOutboxStore(), _aliyun_provider(aliyun, clock))
    outbox.enqueue(_message(1))
    assert outbox.deliver_due(T0).sent == 1
    sent = aliyun.delivered[0]
    assert sent.phone == "13800000001" and sent.sign == "富慧养"
    assert set(sent.params) == {"level", "place", "deaths", "pct", "code"}
    assert sent.text == _message(1).text  # what we recorded is what the farmer reads
    assert "回复4001确认" in sent.text
    assert outbox.store.get("a1:farmer:r1").provider_id == sent.biz_id  # type: ignore[union-attr]


def test_tencent_sends_numbered_values_and_keeps_the_serial_no(tencent: FakeTencentSms, clock: Clock) -> None:
    outbox = Outbox(MemoryOutboxStore(), _tencent_provider(tencent, clock))
    outbox.enqueue(_message(1))
    assert outbox.deliver_due(T0).sent == 1
    sent = tencent.delivered[0]
    assert sent.phone == PHONE and sent.text == _message(1).text
    assert outbox.store.get("a1:farmer:r1").provider_id == sent.serial_no  # type: ignore[union-attr]


# -- refusals -----------------------------------------------------------------------------------

def test_fakes_refuse_a_too_long_variable(aliyun: FakeAliyunSms, tencent: FakeTencentSms, clock: Clock) -> None:
    place = "青华镇李家坪村第三村民小组王家湾养殖专业合作社鸡场二号舍东区"
    assert len(place) == 30
    values = {"level": "紧急", "place": place, "deaths": "3", "pct": "2", "code": "4821"}
    ali = _aliyun_provider(aliyun, clock)
    code = ali.template_codes["FHY_MORTALITY"]
    ali._send("13800000001", code, values, "k1")  # 30 <= 35: Aliyun takes it
    with pytest.raises(PermanentSendError) as refused:
        ali._send("13800000001", code, {**values, "place": place + "六号鸡舍北侧"}, "k2")  # 36
    assert refused.value.code == "isv.PARAM_LENGTH_LIMIT" and refused.value.cause == "template"
    ten = _tencent_provider(tencent, clock)
    with pytest.raises(PermanentSendError) as ten_refused:
        ten._send(PHONE, ten.template_ids["FHY_MORTALITY"], list(values.values()), "k3")
    assert ten_refused.value.code == "InvalidParameterValue.TemplateParameterLengthLimit"
    # Through the template path the adapter shortens the value to the account's limit.
    assert ten.send_template(SmsRequest(PHONE, "x", "k4", "FHY_MORTALITY", values))
    assert tencent.delivered[0].params[1] == place[:11] + "…"
    six = _tencent_provider(tencent, clock, var_max=6)  # accounts held to 6 characters
    assert six.send_template(SmsRequest("+8613800000002", "x", "k5", "FHY_MORTALITY", values))
    tencent.var_max = 6
    assert all(len(v) <= 6 for v in tencent.delivered[1].params)


def test_fakes_refuse_an_unknown_template(aliyun: FakeAliyunSms, tencent: FakeTencentSms, clock: Clock) -> None:
    request = SmsRequest(PHONE, "x", "k1", "FHY_MORTALITY", _message(1).params)
    bad_ali = AliyunSmsProvider(aliyun.access_key_id, aliyun.access_key_secret, "富慧养",
                                template_codes={"FHY_MORTALITY": "SMS_999"}, endpoint=aliyun.url, clock=clock)
    with pytest.raises(PermanentSendError) as ali:
        bad_ali.send_template(request)
    assert ali.value.code == "isv.SMS_TEMPLATE_ILLEGAL"
    bad_ten = TencentSmsProvider(tencent.secret_id, tencent.secret_key, tencent.sdk_app_id, "富慧养",
                                 template_ids={"FHY_MORTALITY": "42"}, endpoint=tencent.url, clock=clock)
    with pytest.raises(PermanentSendError) as ten:
        bad_ten.send_template(request)
    assert ten.value.code == "FailedOperation.TemplateIncorrectOrUnapproved"


def test_fakes_refuse_a_missing_value_an_unapproved_signature_and_a_bad_key(
    aliyun: FakeAliyunSms, tencent: FakeTencentSms, clock: Clock
) -> None:
    provider = _aliyun_provider(aliyun, clock)
    with pytest.raises(PermanentSendError, match="TEMPLATE_MISSING_PARAMETERS"):
        provider._send("13800000001", provider.template_codes["FHY_MORTALITY"], {"level": "紧急"}, "k")
    provider.sign_name = "某某"
    with pytest.raises(PermanentSendError, match="SMS_SIGNATURE_ILLEGAL"):
        provider.send_template(SmsRequest(PHONE, "x", "k", "FHY_MORTALITY", _message(1).params))
    ten = _tencent_provider(tencent, clock)
    ten.secret_key = "wrong"
    with pytest.raises(PermanentSendError) as exc:
        ten.send_template(SmsRequest(PHONE, "x", "k", "FHY_MORTALITY", _message(1).params))
    assert exc.value.code == "AuthFailure.SignatureFailure" and exc.value.cause == "config"


def test_adapters_classify_rate_limits_as_their_documents_say(
    aliyun: FakeAliyunSms, tencent: FakeTencentSms, clock: Clock
) -> None:
    aliyun.per_template_day = 2
    ali = _aliyun_provider(aliyun, clock)
    for i in range(2):
        ali.send_template(SmsRequest(PHONE, "x", f"k{i}", "FHY_MORTALITY", _message(i).params))
    with pytest.raises(RateLimitedSendError) as day:
        ali.send_template(SmsRequest(PHONE, "x", "k9", "FHY_MORTALITY", _message(9).params))
    assert day.value.code == "isv.BUSINESS_LIMIT_CONTROL" and day.value.next_day
    ten = _tencent_provider(tencent, clock)
    ten.send_template(SmsRequest(PHONE, "x", "k1", "FHY_MORTALITY", _message(1).params))
    with pytest.raises(RateLimitedSendError) as thirty:
        ten.send_template(SmsRequest(PHONE, "x", "k2", "FHY_MORTALITY", _message(1).params))
    assert thirty.value.code == "LimitExceeded.PhoneNumberThirtySecondLimit"
    assert thirty.value.retry_after == timedelta(seconds=30)


def test_outbox_paces_itself_inside_tencents_limits(tencent: FakeTencentSms, clock: Clock) -> None:
    """The provider layer's guard: the same content waits 30 s, the 11th SMS of the day waits
    for the next natural day; the fake, which enforces both, never has to refuse."""
    outbox = Outbox(MemoryOutboxStore(), _tencent_provider(tencent, clock))
    same = _message(1)
    again = _message(1)
    again.key, again.alert_id = "a1-again:farmer:r1", "a1-again"
    outbox.enqueue(same)
    outbox.enqueue(again)
    report = outbox.deliver_due(T0)
    assert (report.sent, report.paced) == (1, 1)
    waiting = [m for m in (same, again) if m.state is OutState.PENDING]
    assert len(waiting) == 1 and waiting[0].not_before == T0 + timedelta(seconds=30)
    clock.at = T0 + timedelta(seconds=30)
    assert outbox.deliver_due(clock.at).sent == 1
    for i in range(2, 12):
        outbox.enqueue(_message(i))
    clock.at = T0 + timedelta(minutes=1)
    report = outbox.deliver_due(clock.at)
    assert report.sent == 8 and report.paced == 2  # 10 a day per number
    assert tencent.refused == []
    held = [m for m in outbox.store.messages.values() if m.state is OutState.PENDING]  # type: ignore[attr-defined]
    beijing_midnight = T0 + timedelta(hours=16)  # T0 is 08:00 in Beijing
    assert len(held) == 2 and all(m.not_before == beijing_midnight for m in held)


def test_outbox_handles_each_refusal_as_documented(aliyun: FakeAliyunSms, clock: Clock) -> None:
    """Rate limit: wait for the next day; bad template: failed at once, no retry, an operator
    is told; unknown number: failed, the recipient is marked."""
    refusals = MemoryRefusalLog()
    aliyun.per_template_day = 1
    provider = _aliyun_provider(aliyun, clock)
    provider.limits = type(provider.limits)()  # no guard: let the provider itself refuse
    outbox = Outbox(MemoryOutboxStore(), provider, refusals=refusals)
    outbox.enqueue(_message(1))
    outbox.enqueue(_message(2))  # same template, same number: over Aliyun's (lowered) daily cap
    # An operator mapped heat stress to the mortality template's code: its values do not fit.
    provider.template_codes = {**provider.template_codes, "FHY_HEAT_STRESS": provider.template_codes["FHY_MORTALITY"]}
    outbox.enqueue(_message(3, kind="heat_stress"))
    outbox.enqueue(_message(4, phone="+86123"))
    report = outbox.deliver_due(T0)
    store = outbox.store
    assert report.sent == 1 and report.paced == 1 and report.failed == 2
    limited = store.get("a2:farmer:r1")
    assert limited is not None and limited.state is OutState.PENDING
    assert limited.not_before == T0 + timedelta(hours=16, minutes=1)  # the next day in Beijing
    assert "BUSINESS_LIMIT_CONTROL" in (limited.last_error or "")
    failed = store.get("a3:farmer:r1")
    assert failed is not None and failed.state is OutState.FAILED and failed.attempts == 1
    assert outbox.deliver_due(T0 + timedelta(hours=1)).failed == 0  # never retried
    assert [(r.cause, r.code) for r in refusals.refusals] == [
        ("template", "isv.TEMPLATE_MISSING_PARAMETERS"),
        ("recipient", "isv.MOBILE_NUMBER_ILLEGAL"),
    ]
    assert refusals.refused_numbers == {"+86123"}
    # The next natural day (Beijing), the rate-limited message goes out.
    clock.at = limited.not_before
    assert outbox.deliver_due(clock.at).sent == 1
