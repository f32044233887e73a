"""GET /alerts/stream: the web app's live alert feed (server-sent events), scoped to the caller.

Mount with `app.include_router(cloud.notify.stream_routes.router, prefix=API_PREFIX)` and give
the app an `AlertStream` in `app.state.alert_stream`, fed by `AlertFeed` (see stream_feed.py).
The caller's scope is resolved on a short-lived pooled connection: a stream that stays open for
hours must not hold one of the API's few database connections.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from psycopg_pool import ConnectionPool

from cloud.api.deps import TOKEN_COOKIE, load_principal
from cloud.api.errors import body as error_body
from cloud.api.scope import Scope, resolve
from cloud.api.security import TokenIssuer
from cloud.notify.stream import AlertStream

router = APIRouter(tags=["alerts"])


def visible_to(scope: Scope) -> Any:
    def visible(alert: dict[str, Any]) -> bool:
        farm = alert.get("farm")
        return (
            scope.farm_visible(farm)
            if farm is not None
            else scope.region_visible(alert.get("region"))
        )

    return visible


@router.get("/alerts/stream")
async def alert_stream(request: Request) -> Any:
    stream = getattr(request.app.state, "alert_stream", None)
    if not isinstance(stream, AlertStream):
        return JSONResponse(error_body("not_configured", "no alert stream in this process"), 503)
    issuer: TokenIssuer = request.app.state.issuer
    header = request.headers.get("authorization", "")
    token = (
        header.removeprefix("Bearer ").strip()
        if header.startswith("Bearer ")
        else request.cookies.get(TOKEN_COOKIE)
    )
    claims = issuer.claims(token) if token else None
    clock = getattr(request.app.state, "auth_clock", None) or (lambda: datetime.now(UTC))
    pool: ConnectionPool = request.app.state.pool
    with pool.connection() as conn:
        # The session is checked when the stream opens; a revoked session's open stream ends
        # with the connection (the browser reconnects and is refused).
        principal = None if claims is None else load_principal(conn, claims.user_id, claims.session_id, clock())
        if principal is None:
            return JSONResponse(error_body("unauthorized", "log in first"), 401)
        scope = resolve(conn, principal)
    last = request.headers.get("last-event-id")
    last_id = int(last) if last and last.isdigit() else None
    keepalive = float(getattr(request.app.state, "alert_stream_keepalive_s", 15.0))
    subscription = stream.open(visible=visible_to(scope), last_event_id=last_id)
    return StreamingResponse(
        subscription.frames(keepalive),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
