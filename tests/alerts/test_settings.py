from __future__ import annotations

import pytest

from cloud.notify.providers import AliyunSmsProvider, GenericHttpProvider, TwilioProvider
from cloud.notify.settings import PrintProvider, SmsSettings, build_provider


def test_default_is_the_print_provider(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FUHUIYANG_SMS_PROVIDER", raising=False)
    provider = build_provider(SmsSettings())
    assert isinstance(provider, PrintProvider)
    assert provider.send("+8613800001234", "hi", "k") == "print-1"


def test_providers_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUHUIYANG_SMS_PROVIDER", "http")
    monkeypatch.setenv("FUHUIYANG_SMS_HTTP_URL", "http://127.0.0.1:1/sms")
    monkeypatch.setenv("FUHUIYANG_SMS_HTTP_TOKEN", "s3cret")
    provider = build_provider(SmsSettings())
    assert isinstance(provider, GenericHttpProvider) and provider.token == "s3cret"
    assert "s3cret" not in repr(SmsSettings())  # secrets stay out of logs

    monkeypatch.setenv("FUHUIYANG_SMS_PROVIDER", "twilio")
    with pytest.raises(ValueError, match="FUHUIYANG_SMS_TWILIO_ACCOUNT_SID"):
        build_provider(SmsSettings())
    monkeypatch.setenv("FUHUIYANG_SMS_TWILIO_ACCOUNT_SID", "AC1")
    monkeypatch.setenv("FUHUIYANG_SMS_TWILIO_AUTH_TOKEN", "t")
    monkeypatch.setenv("FUHUIYANG_SMS_TWILIO_FROM", "+15005550006")
    assert isinstance(build_provider(SmsSettings()), TwilioProvider)

    monkeypatch.setenv("FUHUIYANG_SMS_PROVIDER", "aliyun")
    for name, value in (
        ("ACCESS_KEY_ID", "AK"),
        ("ACCESS_KEY_SECRET", "S"),
        ("SIGN_NAME", "富慧养"),
        ("TEMPLATE_CODE", "SMS_1"),
    ):
        monkeypatch.setenv(f"FUHUIYANG_SMS_ALIYUN_{name}", value)
    assert isinstance(build_provider(SmsSettings()), AliyunSmsProvider)


def test_unknown_provider_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FUHUIYANG_SMS_PROVIDER", "pigeon")
    with pytest.raises(ValueError, match="provider"):
        SmsSettings()


def test_mainland_providers_need_approved_templates_and_a_valid_signature(monkeypatch: pytest.MonkeyPatch) -> None:
    from cloud.notify.tencent import TencentSmsProvider

    monkeypatch.setenv("FUHUIYANG_SMS_PROVIDER", "tencent")
    monkeypatch.setenv("FUHUIYANG_SMS_TENCENT_SECRET_ID", "AKID1")
    monkeypatch.setenv("FUHUIYANG_SMS_TENCENT_SECRET_KEY", "k")
    monkeypatch.setenv("FUHUIYANG_SMS_TENCENT_SDK_APP_ID", "1400000001")
    with pytest.raises(ValueError, match="FUHUIYANG_SMS_TEMPLATE_CODES"):
        build_provider(SmsSettings())
    monkeypatch.setenv("FUHUIYANG_SMS_TEMPLATE_CODES", '{"FHY_MORTALITY": "2000001"}')
    monkeypatch.setenv("FUHUIYANG_SMS_TENCENT_PER_NUMBER_DAY", "20")
    provider = build_provider(SmsSettings())
    assert isinstance(provider, TencentSmsProvider)
    assert provider.template_ids == {"FHY_MORTALITY": "2000001"} and provider.limits.per_number_day == 20
    monkeypatch.setenv("FUHUIYANG_SMS_SIGN_NAME", "富")
    with pytest.raises(ValueError, match="2-12 characters"):
        build_provider(SmsSettings())
    monkeypatch.setenv("FUHUIYANG_SMS_PROVIDER", "aliyun")
    monkeypatch.setenv("FUHUIYANG_SMS_SIGN_NAME", "富慧养")
    monkeypatch.setenv("FUHUIYANG_SMS_ALIYUN_ACCESS_KEY_ID", "AK")
    monkeypatch.setenv("FUHUIYANG_SMS_ALIYUN_ACCESS_KEY_SECRET", "S")
    aliyun = build_provider(SmsSettings())
    assert isinstance(aliyun, AliyunSmsProvider) and aliyun.template_codes == {"FHY_MORTALITY": "2000001"}
