"""HTTP endpoints for SMS receipts and replies. Mount with
`app.include_router(cloud.notify.webhook_routes.router, prefix=API_PREFIX)`.

They authenticate the provider (HMAC / Twilio signature / Aliyun token in a header), never a
user, so they sit outside the API's login; an authenticated delivery seen before is refused as a
replay. Secrets come from FUHUIYANG_SMS_* (see docs/alerts.md); none is ever part of a URL path.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from cloud.api.deps import Conn
from cloud.api.errors import body as error_body
from cloud.notify import replay
from cloud.notify.inbound import (
    SIGNATURE_HEADER,
    Inbound,
    WebhookError,
    parse_aliyun,
    parse_generic,
    parse_tencent,
    parse_twilio,
    token_from_headers,
)
from cloud.notify.inbound_pg import apply_inbound
from cloud.notify.settings import SmsSettings

log = logging.getLogger(__name__)

router = APIRouter(prefix="/webhooks/sms", tags=["webhooks"])


def rejected(request: Request) -> Counter[str]:
    """Rejections by "<provider>:<reason>", kept on the app (one per process)."""
    counter = getattr(request.app.state, "sms_webhook_rejected", None)
    if counter is None:
        counter = Counter()
        request.app.state.sms_webhook_rejected = counter
    return counter


def _settings(request: Request) -> SmsSettings:
    settings = getattr(request.app.state, "sms_settings", None)
    return settings if isinstance(settings, SmsSettings) else SmsSettings()


_REPLAY = WebhookError(409, "replay", "this delivery was already received")


def _reject(request: Request, exc: WebhookError, provider: str) -> JSONResponse:
    rejected(request)[f"{provider}:{exc.reason}"] += 1
    log.warning("SMS webhook from %s rejected: %s", provider, exc)
    return JSONResponse(error_body(exc.reason, exc.detail), status_code=exc.status)


def _apply(conn: Conn, items: list[Inbound]) -> dict[str, Any]:
    outcome = apply_inbound(conn, items, datetime.now(UTC))
    return {
        "accepted": len(items),
        "acknowledged": outcome.acknowledged,
        "counts": dict(outcome.counters),
    }


@router.post("/generic")
async def generic(request: Request, conn: Conn) -> Any:
    secret = _settings(request).webhook_secret
    if secret is None:
        return _reject(
            request,
            WebhookError(404, "not_configured", "FUHUIYANG_SMS_WEBHOOK_SECRET is not set"),
            "generic",
        )
    body = await request.body()
    try:
        items = parse_generic(
            body, dict(request.headers), secret.get_secret_value().encode(), datetime.now(UTC)
        )
    except WebhookError as exc:
        return _reject(request, exc, "generic")
    signature = request.headers.get(SIGNATURE_HEADER, "").encode()
    if not replay.first_delivery(conn, "generic", signature, replay.SIGNED_WINDOW, datetime.now(UTC)):
        return _reject(request, _REPLAY, "generic")
    return _apply(conn, items)


@router.post("/twilio")
async def twilio(request: Request, conn: Conn) -> Any:
    settings = _settings(request)
    if settings.twilio_auth_token is None:
        return _reject(
            request,
            WebhookError(404, "not_configured", "FUHUIYANG_SMS_TWILIO_AUTH_TOKEN is not set"),
            "twilio",
        )
    body = await request.body()
    form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    url = settings.twilio_status_callback or str(request.url)
    try:
        item = parse_twilio(
            url,
            form,
            request.headers.get("x-twilio-signature"),
            settings.twilio_auth_token.get_secret_value(),
        )
    except WebhookError as exc:
        return _reject(request, exc, "twilio")
    material = request.headers.get("x-twilio-signature", "").encode() + b"\n" + body
    if not replay.first_delivery(conn, "twilio", material, replay.UNTIMED_WINDOW, datetime.now(UTC)):
        return _reject(request, _REPLAY, "twilio")
    return _apply(conn, [] if item is None else [item])


@router.post("/aliyun")
async def aliyun(request: Request, conn: Conn) -> Any:
    expected = _settings(request).aliyun_callback_token
    if expected is None:
        return _reject(
            request,
            WebhookError(404, "not_configured", "FUHUIYANG_SMS_ALIYUN_CALLBACK_TOKEN is not set"),
            "aliyun",
        )
    body = await request.body()
    try:
        items = parse_aliyun(body, token_from_headers(request.headers), expected.get_secret_value())
    except WebhookError as exc:
        return _reject(request, exc, "aliyun")
    # Aliyun expects this exact answer, or it retries the push.
    if not replay.first_delivery(conn, "aliyun", body, replay.UNTIMED_WINDOW, datetime.now(UTC)):
        # Unsigned, so the body is the delivery: applied once already. Answer success so a
        # retry after a lost answer stops; nothing is applied twice.
        _reject(request, _REPLAY, "aliyun")
        return {"code": 0, "msg": "成功", "accepted": 0, "acknowledged": [], "counts": {}, "duplicate": True}
    result = _apply(conn, items)
    return {"code": 0, "msg": "成功", **result}


@router.post("/tencent")
async def tencent(request: Request, conn: Conn) -> Any:
    """Tencent Cloud SMS delivery-status and reply callbacks (unsigned: a token, as Aliyun's)."""
    expected = _settings(request).tencent_callback_token
    if expected is None:
        return _reject(
            request,
            WebhookError(404, "not_configured", "FUHUIYANG_SMS_TENCENT_CALLBACK_TOKEN is not set"),
            "tencent",
        )
    body = await request.body()
    try:
        items = parse_tencent(body, token_from_headers(request.headers), expected.get_secret_value())
    except WebhookError as exc:
        return _reject(request, exc, "tencent")
    if not replay.first_delivery(conn, "tencent", body, replay.UNTIMED_WINDOW, datetime.now(UTC)):
        _reject(request, _REPLAY, "tencent")
        return {"result": 0, "errmsg": "OK", "duplicate": True}
    return {"result": 0, "errmsg": "OK", **_apply(conn, items)}
