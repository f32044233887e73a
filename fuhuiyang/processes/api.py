"""The API process's composition root; `fuhuiyang cloud api` serves
`fuhuiyang.processes.api:create_app` (a uvicorn factory).

Reads the FUHUIYANG_* settings (cloud and SMS) and builds the connection pool, the config
publisher and the frame store, then hands them to `cloud.api.app.create_app`, which builds
none of them itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import psycopg
from fastapi import FastAPI
from psycopg import sql
from psycopg_pool import ConnectionPool

from cloud.api import app as api_app
from cloud.frames_store import FrameStore
from cloud.notify.settings import SmsSettings
from cloud.settings import CloudSettings
from fuhuiyang.processes.resources import broker_address, frame_store
from messaging.publisher import ConfigPublisher, MqttConfigPublisher


def make_pool(settings: CloudSettings) -> ConnectionPool:
    """The API's pool, not yet open (the app opens it on startup)."""
    schema_path = sql.SQL("SELECT set_config('search_path', {}, false)").format(
        sql.Literal(f"{settings.database_schema}, public"))

    def configure(conn: psycopg.Connection) -> None:
        conn.execute(schema_path)
        conn.commit()

    kwargs = {} if settings.database_prepared_statements else {"prepare_threshold": None}
    return ConnectionPool(settings.database_url, min_size=1, max_size=settings.api_pool_size,
                          configure=configure, open=False, name="api", kwargs=kwargs)


def config_publisher(settings: CloudSettings) -> MqttConfigPublisher:
    return MqttConfigPublisher(broker_address(settings))


def build_app(settings: CloudSettings | None = None, *, publisher: ConfigPublisher | None = None,
              sms: SmsSettings | None = None, frames: FrameStore | None = None, with_web: bool = True,
              clock: Callable[[], datetime] | None = None) -> FastAPI:
    """The app on `settings` (default: the environment); tests hand in a recording publisher
    and may hand in a frame store."""
    settings = settings or CloudSettings()
    return api_app.create_app(settings, pool=make_pool(settings),
                              publisher=publisher or config_publisher(settings),
                              sms=sms or SmsSettings(), frames=frames or frame_store(settings),
                              with_web=with_web, clock=clock)


def create_app() -> FastAPI:
    return build_app()
