"""The API process's composition root: `create_app(settings)` builds everything it uses."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import psycopg
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from psycopg import sql
from psycopg_pool import ConnectionPool

from cloud.api import docs, errors, http_guards, observability
from cloud.api.deps import TOKEN_COOKIE
from cloud.api.login_throttle import LoginThrottle, ThrottlePolicy
from cloud.api.observability import API_PREFIX
from cloud.api.publisher import ConfigPublisher, MqttConfigPublisher
from cloud.api.routes import auth, catalog, gateways, records, telemetry, users
from cloud.api.security import TokenIssuer
from cloud.notify import stream_routes, webhook_routes
from cloud.notify.settings import SmsSettings
from cloud.notify.stream import AlertStream
from cloud.notify.stream_feed import AlertFeed
from cloud.reports import api as reports_api
from cloud.settings import CloudSettings

log = logging.getLogger(__name__)


class MissingSecret(RuntimeError):
    pass


def make_pool(settings: CloudSettings) -> ConnectionPool:
    schema_path = sql.SQL("SELECT set_config('search_path', {}, false)").format(
        sql.Literal(f"{settings.database_schema}, public"))

    def configure(conn: psycopg.Connection) -> None:
        conn.execute(schema_path)
        conn.commit()

    kwargs = {} if settings.database_prepared_statements else {"prepare_threshold": None}
    return ConnectionPool(settings.database_url, min_size=1, max_size=settings.api_pool_size,
                          configure=configure, open=False, name="api", kwargs=kwargs)


def create_app(settings: CloudSettings | None = None, *, publisher: ConfigPublisher | None = None,
               with_web: bool = True, clock: Callable[[], datetime] | None = None) -> FastAPI:
    settings = settings or CloudSettings()
    if settings.jwt_secret is None or len(settings.jwt_secret.get_secret_value()) < 32:
        raise MissingSecret("set FUHUIYANG_JWT_SECRET (at least 32 characters) before starting the API")
    pool = make_pool(settings)

    stream = AlertStream() if settings.api_alert_feed else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool.open(wait=False)
        # The alert worker saves alerts in another process; its NOTIFYs feed the SSE stream here.
        feed = None
        if stream is not None:
            feed = AlertFeed(settings.database_url, settings.database_schema, stream, asyncio.get_running_loop())
            feed.start()
        try:
            yield
        finally:
            if feed is not None:
                feed.stop()
            pool.close()

    app = FastAPI(title="Fuhuiyang API", version="1", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Farms, flocks, gateways, telemetry, records and alerts, scoped by role.")
    app.state.settings = settings
    app.state.pool = pool
    app.state.alert_stream = stream
    app.state.sms_settings = SmsSettings()
    app.state.auth_clock = lambda: datetime.now(UTC)
    app.state.login_throttle = LoginThrottle(ThrottlePolicy(
        per_account=settings.login_max_failures_per_account, per_address=settings.login_max_failures_per_address,
        window=timedelta(minutes=settings.login_window_minutes),
        lockout=timedelta(minutes=settings.login_lockout_minutes)))
    app.state.issuer = TokenIssuer(settings.jwt_secret.get_secret_value(), timedelta(minutes=settings.jwt_ttl_minutes))
    app.state.publisher = publisher or MqttConfigPublisher(
        settings.mqtt_url, settings.mqtt_username,
        settings.mqtt_password.get_secret_value() if settings.mqtt_password else None)

    html_handler = None
    if with_web:
        from cloud.web import app as web

        html_handler = web.install(app, settings, clock)
    errors.install(app, html_handler)
    # Inside the metrics middleware: refused requests are counted by status like any other.
    http_guards.install(app, TOKEN_COOKIE)
    metrics = observability.ApiMetrics(CollectorRegistry()) if settings.api_metrics else None
    observability.install(app, metrics)
    docs.install(app)
    # The stream first: "/alerts/stream" must not be taken for "/alerts/{alert_id}".
    for router in (stream_routes.router, auth.router, catalog.router, gateways.router, telemetry.router,
                   records.router, users.router, reports_api.router, webhook_routes.router):
        app.include_router(router, prefix=API_PREFIX)
    return app
