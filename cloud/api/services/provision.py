"""Gateway registration, credential rotation and revocation, through cloud.provisioning.

The provisioner keeps the broker's password and ACL files in step with the database; this
module adds the caller's scope and role checks in front of it.
"""

from __future__ import annotations

from typing import Any

import psycopg

from cloud.api.errors import ApiError, forbidden
from cloud.api.scope import Scope, may
from cloud.api.services.catalog import get_farm
from cloud.api.services.gateways import get_gateway
from cloud.provisioning.broker import broker_files, gateway_broker
from cloud.provisioning.gateways import Provisioner, ProvisioningError
from cloud.settings import CloudSettings


def _provisioner(conn: psycopg.Connection, settings: CloudSettings) -> Provisioner:
    return Provisioner(conn, broker_files(settings), gateway_broker(settings))


def register(conn: psycopg.Connection, scope: Scope, settings: CloudSettings, farm_id: str,
             gateway_id: str | None) -> dict[str, Any]:
    get_farm(conn, scope, farm_id)
    if not may(scope.principal, "push_config"):
        raise forbidden("only technicians and administrators register gateways")
    try:
        credentials = _provisioner(conn, settings).register(farm_id, gateway_id, actor=scope.principal.user_id)
    except ProvisioningError as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    return _with_broker(credentials.as_dict(), settings)


def rotate(conn: psycopg.Connection, scope: Scope, settings: CloudSettings, gateway_id: str) -> dict[str, Any]:
    get_gateway(conn, scope, gateway_id)
    if not may(scope.principal, "push_config"):
        raise forbidden()
    try:
        credentials = _provisioner(conn, settings).rotate(gateway_id, actor=scope.principal.user_id)
    except ProvisioningError as exc:
        raise ApiError(409, "conflict", str(exc)) from exc
    return _with_broker(credentials.as_dict(), settings)


def revoke(conn: psycopg.Connection, scope: Scope, settings: CloudSettings, gateway_id: str) -> None:
    get_gateway(conn, scope, gateway_id)
    if not may(scope.principal, "push_config"):
        raise forbidden()
    try:
        _provisioner(conn, settings).revoke(gateway_id, actor=scope.principal.user_id)
    except ProvisioningError as exc:
        raise ApiError(409, "conflict", str(exc)) from exc


def _with_broker(result: dict[str, Any], settings: CloudSettings) -> dict[str, Any]:
    broker = gateway_broker(settings)
    return {**result, "broker_host": broker.host, "broker_port": broker.port, "broker_tls": broker.tls}


def essentials(credentials: dict[str, Any]) -> str:
    """What a technician's phone needs to set a gateway up, compact enough for one QR code."""
    import json

    return json.dumps({"id": credentials["gateway_id"], "pw": credentials["password"],
                       "host": credentials["broker_host"], "port": credentials["broker_port"],
                       "tls": credentials["broker_tls"]}, separators=(",", ":"))


def qr_svg(text: str) -> str:
    import io

    import segno

    out = io.BytesIO()
    segno.make(text, error="m").save(out, kind="svg", scale=4, border=2, xmldecl=False, svgns=True,
                                     title="QR", dark="#000", light="#fff")
    return out.getvalue().decode()
