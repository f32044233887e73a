"""Gateways, their sensors and cameras, and desired-config validation, push and history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request

from cloud.api.deps import Conn, CurrentScope, Settings
from cloud.api.pagination import Page, PageParams, page_params
from cloud.api.schemas import (
    CameraOut,
    ConfigCheck,
    ConfigIn,
    ConfigPushed,
    ConfigVersionOut,
    CredentialsOut,
    GatewayOut,
    GatewayRegister,
    Id,
    SensorOut,
)
from cloud.api.services import gateways, provision
from messaging.publisher import ConfigPublisher

router = APIRouter(tags=["gateways"])
Paging = Annotated[PageParams, Depends(page_params)]


def get_publisher(request: Request) -> ConfigPublisher:
    publisher: ConfigPublisher = request.app.state.publisher
    return publisher


Publisher = Annotated[ConfigPublisher, Depends(get_publisher)]


@router.get("/gateways", response_model=Page[GatewayOut])
def list_gateways(conn: Conn, scope: CurrentScope, paging: Paging,
                  farm_id: Annotated[Id | None, Query()] = None,
                  region_id: Annotated[Id | None, Query()] = None) -> Page[GatewayOut]:
    items, total = gateways.list_gateways(conn, scope, paging, farm_id=farm_id, region_id=region_id)
    return Page(items=[GatewayOut(**i) for i in items], total=total, **paging.model_dump())


@router.get("/gateways/{gateway_id}", response_model=GatewayOut)
def get_gateway(gateway_id: Id, conn: Conn, scope: CurrentScope) -> GatewayOut:
    return GatewayOut(**gateways.get_gateway(conn, scope, gateway_id))


@router.get("/gateways/{gateway_id}/sensors", response_model=list[SensorOut])
def list_sensors(gateway_id: Id, conn: Conn, scope: CurrentScope) -> list[SensorOut]:
    return [SensorOut(**s) for s in gateways.sensors(conn, scope, gateway_id)]


@router.get("/gateways/{gateway_id}/cameras", response_model=list[CameraOut])
def list_cameras(gateway_id: Id, conn: Conn, scope: CurrentScope) -> list[CameraOut]:
    return [CameraOut(**c) for c in gateways.cameras(conn, scope, gateway_id)]


@router.get("/gateways/{gateway_id}/configs", response_model=Page[ConfigVersionOut])
def config_history(gateway_id: Id, conn: Conn, scope: CurrentScope, paging: Paging) -> Page[ConfigVersionOut]:
    items, total = gateways.config_history(conn, scope, gateway_id, paging)
    return Page(items=[ConfigVersionOut(**i) for i in items], total=total, **paging.model_dump())


@router.post("/gateways/{gateway_id}/configs/check", response_model=ConfigCheck)
def check_config(gateway_id: Id, conn: Conn, scope: CurrentScope,
                 config: Annotated[dict[str, Any], Body(embed=True)]) -> ConfigCheck:
    """Validate a desired config and show its diff against the current one, without pushing."""
    return ConfigCheck(**gateways.check_config(conn, scope, gateway_id, config))


@router.post("/gateways/{gateway_id}/configs", response_model=ConfigPushed, status_code=201)
def push_config(gateway_id: Id, body: ConfigIn, conn: Conn, scope: CurrentScope,
                publisher: Publisher) -> ConfigPushed:
    """Store the next desired-config version and publish it retained to the gateway."""
    return ConfigPushed(**gateways.push_config(conn, scope, gateway_id, body.config, publisher,
                                               body.expected_version))


@router.post("/farms/{farm_id}/gateways", response_model=CredentialsOut, status_code=201)
def register_gateway(farm_id: Id, body: GatewayRegister, conn: Conn, scope: CurrentScope,
                     settings: Settings) -> CredentialsOut:
    """Register a gateway for a farm: its id, a generated password (shown once) and gateway.yaml."""
    return CredentialsOut(**provision.register(conn, scope, settings, farm_id, body.gateway_id))


@router.post("/gateways/{gateway_id}/credentials", response_model=CredentialsOut)
def rotate_credentials(gateway_id: Id, conn: Conn, scope: CurrentScope, settings: Settings) -> CredentialsOut:
    """Issue a new password (the old one stops working); also re-enables a revoked gateway."""
    return CredentialsOut(**provision.rotate(conn, scope, settings, gateway_id))


@router.post("/gateways/{gateway_id}/revoke", status_code=204)
def revoke_gateway(gateway_id: Id, conn: Conn, scope: CurrentScope, settings: Settings) -> None:
    """Revoke the gateway's broker login."""
    provision.revoke(conn, scope, settings, gateway_id)
