"""The API application: `create_app` assembles routes, middleware and state around the
collaborators it is handed (the process's composition root, fuhuiyang/processes/api.py, reads
the settings and builds the pool, the config publisher and the SMS settings)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from psycopg_pool import ConnectionPool

from cloud.api import docs, errors, http_guards, observability
from cloud.api.deps import TOKEN_COOKIE
from cloud.api.login_throttle import LoginThrottle, ThrottlePolicy
from cloud.api.observability import API_PREFIX
from cloud.api.routes import (
    auth,
    catalog,
    gateways,
    labels,
    records,
    releases,
    sms_budget,
    telemetry,
    users,
)
from cloud.api.security import TokenIssuer
from cloud.frames_store import FrameStore
from cloud.notify import stream_routes, webhook_routes
from cloud.notify.settings import SmsSettings
from cloud.notify.stream import AlertStream
from cloud.notify.stream_feed import AlertFeed
from cloud.releases.store import ReleaseStore
from cloud.reports import api as reports_api
from cloud.settings import CloudSettings
from messaging.publisher import ConfigPublisher

log = logging.getLogger(__name__)


class MissingSecret(RuntimeError):
    pass


def create_app(settings: CloudSettings, *, pool: ConnectionPool, publisher: ConfigPublisher, sms: SmsSettings,
               frames: FrameStore,
               with_web: bool = True, clock: Callable[[], datetime] | None = None,
               releases_store: ReleaseStore | None = None) -> FastAPI:
    """The app; it opens `pool` on startup and closes it on shutdown. `frames` is the store
    ingest and detection write to, read by the photo route."""
    if settings.jwt_secret is None or len(settings.jwt_secret.get_secret_value()) < 32:
        raise MissingSecret("set FUHUIYANG_JWT_SECRET (at least 32 characters) before starting the API")

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
    app.state.sms_settings = sms
    app.state.auth_clock = lambda: datetime.now(UTC)
    app.state.login_throttle = LoginThrottle(ThrottlePolicy(
        per_account=settings.login_max_failures_per_account, per_address=settings.login_max_failures_per_address,
        window=timedelta(minutes=settings.login_window_minutes),
        lockout=timedelta(minutes=settings.login_lockout_minutes)))
    app.state.issuer = TokenIssuer(settings.jwt_secret.get_secret_value(), timedelta(minutes=settings.jwt_ttl_minutes))
    app.state.publisher = publisher
    app.state.frames = frames
    app.state.releases = releases_store or ReleaseStore(settings.releases_dir)

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
                   records.router, users.router, releases.router, reports_api.router, webhook_routes.router,
                   sms_budget.router, labels.router):
        app.include_router(router, prefix=API_PREFIX)
    return app
