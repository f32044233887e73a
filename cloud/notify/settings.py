"""SMS settings from the environment (FUHUIYANG_SMS_*) and the one place that builds a provider."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import time
from itertools import count
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from cloud.notify.pacing import Pacing
from cloud.notify.provider_pacing import TENCENT_LIMITS
from cloud.notify.providers import (
    AliyunSmsProvider,
    GenericHttpProvider,
    SmsProvider,
    TwilioProvider,
)
from cloud.notify.templates import TENCENT_PERSONAL_VAR_MAX, check_signature
from cloud.notify.tencent import TencentSmsProvider

log = logging.getLogger(__name__)


class SmsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FUHUIYANG_SMS_", extra="forbid")

    provider: Literal["print", "http", "aliyun", "tencent", "twilio"] = "print"
    # The approved signature, and our template name -> the provider's code for it, as JSON:
    # {"FHY_MORTALITY": "SMS_4600...", ...} (`fuhuiyang alerts templates --provider aliyun`).
    sign_name: str = "富慧养"
    template_codes: dict[str, str] = {}
    http_url: str | None = None
    http_token: SecretStr | None = None
    aliyun_access_key_id: str | None = None
    aliyun_access_key_secret: SecretStr | None = None
    aliyun_sign_name: str | None = None
    aliyun_template_code: str | None = None
    aliyun_endpoint: str = "https://dysmsapi.aliyuncs.com/"
    tencent_secret_id: str | None = None
    tencent_secret_key: SecretStr | None = None
    tencent_sdk_app_id: str | None = None
    tencent_endpoint: str = "https://sms.tencentcloudapi.com/"
    tencent_region: str = "ap-guangzhou"
    tencent_var_max: int = TENCENT_PERSONAL_VAR_MAX  # 12 on personal accounts (6 on some)
    tencent_per_number_day: int = 10  # Tencent's default daily cap per number
    tencent_callback_token: SecretStr | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from: str | None = None
    twilio_base_url: str = "https://api.twilio.com"
    twilio_status_callback: str | None = None
    webhook_secret: SecretStr | None = None  # generic gateway receipts/replies (HMAC)
    aliyun_callback_token: SecretStr | None = None
    price_per_segment: float = 0.045  # CNY; set to your contract price
    max_per_hour: int = 3
    max_per_day: int = 10
    quiet_start: time | None = time(22, 0)
    quiet_end: time = time(6, 30)

    def pacing(self) -> Pacing:
        return Pacing(self.max_per_hour, self.max_per_day, self.quiet_start, self.quiet_end)


class PrintProvider:
    """The demo's provider: the outbox works as in production, the SMS goes to the log."""

    name = "print"

    def __init__(self) -> None:
        self._ids = count(1)
        self.sent: list[tuple[str, str]] = []

    def send(self, to: str, text: str, key: str) -> str:
        self.sent.append((to, text))
        log.warning("SMS to %s: %s", _mask(to), text)
        return f"print-{next(self._ids)}"


def build_provider(settings: SmsSettings) -> SmsProvider:
    def need(value: object, env: str) -> None:
        if value in (None, ""):
            raise ValueError(f"FUHUIYANG_SMS_PROVIDER={settings.provider} needs FUHUIYANG_SMS_{env.upper()}")

    if settings.provider == "http":
        need(settings.http_url, "http_url")
        assert settings.http_url is not None
        token = settings.http_token.get_secret_value() if settings.http_token else None
        return GenericHttpProvider(url=settings.http_url, token=token)
    if settings.provider in ("aliyun", "tencent"):
        sign = settings.aliyun_sign_name if settings.provider == "aliyun" and settings.aliyun_sign_name else settings.sign_name
        problem = check_signature(sign)
        if problem:
            raise ValueError(f"FUHUIYANG_SMS_SIGN_NAME: {problem}")
        if not settings.template_codes and not (settings.provider == "aliyun" and settings.aliyun_template_code):
            raise ValueError(
                f"FUHUIYANG_SMS_PROVIDER={settings.provider} needs FUHUIYANG_SMS_TEMPLATE_CODES "
                "(JSON: template name -> the provider's code; see `fuhuiyang alerts templates`)"
            )
    if settings.provider == "aliyun":
        for env in ("aliyun_access_key_id", "aliyun_access_key_secret"):
            need(getattr(settings, env), env)
        assert settings.aliyun_access_key_secret is not None
        return AliyunSmsProvider(
            access_key_id=str(settings.aliyun_access_key_id),
            access_key_secret=settings.aliyun_access_key_secret.get_secret_value(),
            sign_name=settings.aliyun_sign_name or settings.sign_name,
            template_codes=settings.template_codes,
            template_code=settings.aliyun_template_code,
            endpoint=settings.aliyun_endpoint,
        )
    if settings.provider == "tencent":
        for env in ("tencent_secret_id", "tencent_secret_key", "tencent_sdk_app_id"):
            need(getattr(settings, env), env)
        assert settings.tencent_secret_key is not None
        return TencentSmsProvider(
            secret_id=str(settings.tencent_secret_id),
            secret_key=settings.tencent_secret_key.get_secret_value(),
            sdk_app_id=str(settings.tencent_sdk_app_id),
            sign_name=settings.sign_name,
            template_ids=settings.template_codes,
            var_max=settings.tencent_var_max,
            limits=replace(TENCENT_LIMITS, per_number_day=settings.tencent_per_number_day),
            endpoint=settings.tencent_endpoint,
            region=settings.tencent_region,
        )
    if settings.provider == "twilio":
        for env in ("twilio_account_sid", "twilio_auth_token", "twilio_from"):
            need(getattr(settings, env), env)
        assert settings.twilio_auth_token is not None
        return TwilioProvider(
            account_sid=str(settings.twilio_account_sid),
            auth_token=settings.twilio_auth_token.get_secret_value(),
            from_number=str(settings.twilio_from),
            base_url=settings.twilio_base_url,
            status_callback=settings.twilio_status_callback,
        )
    return PrintProvider()


def _mask(phone: str) -> str:
    """Phone numbers are personal data: keep the last four digits in logs."""
    return "*" * max(len(phone) - 4, 0) + phone[-4:]
