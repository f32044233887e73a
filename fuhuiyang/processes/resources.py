"""The resources every cloud process builds the same way from its settings.

Each composition root calls these once and hands the results down; domain packages only
ever see a `BrokerAddress`, a `FrameStore` or a connection factory.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg

from cloud.db.connection import connect
from cloud.frames_store import FrameStore, open_frame_store
from cloud.settings import CloudSettings
from messaging.broker import BrokerAddress


def broker_address(settings: CloudSettings) -> BrokerAddress:
    """The broker in `mqtt_url`, with `mqtt_username`/`mqtt_password` overriding the URL's own."""
    password = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
    ca_file = str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None
    return BrokerAddress.parse(settings.mqtt_url, settings.mqtt_username, password, ca_file)


def frame_store(settings: CloudSettings) -> FrameStore:
    """S3 when `frames_s3_url` is set, else `frames_dir`."""
    return open_frame_store(settings.frames_dir, settings.frames_s3_url, settings.frames_s3_endpoint)


def connection_factory(settings: CloudSettings, application_name: str) -> Callable[[], psycopg.Connection]:
    """Opens a new connection to the settings' database and schema on each call (workers reconnect)."""

    def open_connection() -> psycopg.Connection:
        return connect(settings.database_url, settings.database_schema, application_name=application_name)

    return open_connection
