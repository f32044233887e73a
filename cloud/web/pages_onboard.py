"""Onboarding in the console: a technician takes a farm from nothing to a provisioned gateway
(farm in its village, houses, a placed flock, the farmer's account, the gateway's credentials)
without the API; an administrator manages users. Every step is the API's own service."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from cloud.api.deps import Conn, Now, Settings, Throttle
from cloud.api.errors import ApiError, forbidden, invalid
from cloud.api.pagination import PageParams
from cloud.api.schemas import FarmIn, FlockIn, HouseIn, UserIn
from cloud.api.scope import Scope, may
from cloud.api.services import catalog, gateways, onboarding, provision, users
from cloud.web.deps import SameOrigin, WebScope
from cloud.web.pages_console import show_credentials
from cloud.web.render import render
from farming.growth import BREEDS

router = APIRouter()
Text = Annotated[str, Form(max_length=120)]


def _technician(scope: Scope) -> None:
    if not may(scope.principal, "manage_farms"):
        raise forbidden("onboarding is for technicians")


def _model(model: type[Any], **values: Any) -> Any:
    """A form's values as the API's model, its refusal said as a 422 naming the field."""
    try:
        return model(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise invalid(f"“{field}”填写有误：{first['msg']}", f"{field}: {first['msg']}") from exc


@router.get("/console/farms")
def farms(request: Request, conn: Conn, scope: WebScope) -> Response:
    _technician(scope)
    mine, total = catalog.list_farms(conn, scope, PageParams(limit=500, offset=0))
    return render(request, "onboard_farms.html", {"principal": scope.principal, "farms": mine, "total": total,
                                                  "places": onboarding.places(conn, scope)})


@router.post("/console/farms")
def create_farm(conn: Conn, scope: WebScope, _: SameOrigin, name: Text, township: Annotated[str, Form(max_length=64)],
                village: Text, kind: Annotated[str, Form(max_length=20)] = "smallhouse") -> Response:
    _technician(scope)
    region, scope = onboarding.village_in(conn, scope, township, village)
    farm = _model(FarmIn, id=onboarding.new_id("farm"), name=name.strip(), region_id=region, kind=kind)
    created = catalog.create_farm(conn, scope, farm.model_dump())
    return RedirectResponse(f"/console/farms/{created['id']}", status_code=303)


def _farm_page(request: Request, conn: Conn, scope: Scope, farm_id: str, **extra: Any) -> Response:
    farm = catalog.get_farm(conn, scope, farm_id)
    houses, _ = catalog.list_houses(conn, scope, farm_id, PageParams(limit=100, offset=0))
    flocks, _ = catalog.list_flocks(conn, scope, PageParams(limit=200, offset=0), farm_id=farm_id)
    gws, _ = gateways.list_gateways(conn, scope, PageParams(limit=100, offset=0), farm_id=farm_id)
    return render(request, "onboard_farm.html", {
        "principal": scope.principal, "farm": farm, "houses": houses, "flocks": flocks, "gateways": gws,
        "farmers": onboarding.farmers_of(conn, scope, farm_id), "breeds": BREEDS,
        "today": request.app.state.clock().date(), **extra})


@router.get("/console/farms/{farm_id}")
def farm(request: Request, farm_id: str, conn: Conn, scope: WebScope) -> Response:
    _technician(scope)
    return _farm_page(request, conn, scope, farm_id)


@router.post("/console/farms/{farm_id}/houses")
def add_house(farm_id: str, conn: Conn, scope: WebScope, _: SameOrigin, name: Text,
              capacity: Annotated[int | None, Form(gt=0, le=10_000_000)] = None) -> Response:
    _technician(scope)
    house = _model(HouseIn, id=onboarding.new_id(farm_id), name=name.strip(), capacity=capacity)
    catalog.create_house(conn, scope, farm_id, house.model_dump())
    return RedirectResponse(f"/console/farms/{farm_id}#houses", status_code=303)


@router.post("/console/houses/{house_id}/flocks")
def place_flock(house_id: str, conn: Conn, scope: WebScope, _: SameOrigin,
                breed: Annotated[str, Form(max_length=40)], placed_on: Annotated[date, Form()],
                birds_placed: Annotated[int, Form(gt=0, le=10_000_000)]) -> Response:
    _technician(scope)
    house = catalog.get_house(conn, scope, house_id)
    if breed not in BREEDS:
        raise invalid(f"不认识的品种 {breed[:40]}", f"unknown breed {breed[:40]!r}")
    flock = _model(FlockIn, id=onboarding.new_id(house_id), breed=breed, placed_on=placed_on,
                   birds_placed=birds_placed)
    catalog.create_flock(conn, scope, house_id, flock.model_dump())
    return RedirectResponse(f"/console/farms/{house['farm_id']}#flocks", status_code=303)


@router.post("/console/farms/{farm_id}/farmers")
def add_farmer(request: Request, farm_id: str, conn: Conn, scope: WebScope, _: SameOrigin,
               phone: Annotated[str, Form(max_length=32)], display_name: Text = "") -> Response:
    _technician(scope)
    account, password = onboarding.add_farmer(conn, scope, farm_id, phone, display_name.strip() or None)
    return _farm_page(request, conn, scope, farm_id, new_farmer=account, new_password=password)


@router.post("/console/gateways/{gateway_id}/rotate")
def rotate(request: Request, gateway_id: str, conn: Conn, scope: WebScope, settings: Settings,
           _: SameOrigin) -> Response:
    _technician(scope)
    return show_credentials(request, scope, provision.rotate(conn, scope, settings, gateway_id))


@router.post("/console/gateways/{gateway_id}/revoke")
def revoke(gateway_id: str, conn: Conn, scope: WebScope, settings: Settings, _: SameOrigin) -> Response:
    _technician(scope)
    farm_id = gateways.get_gateway(conn, scope, gateway_id)["farm_id"]
    provision.revoke(conn, scope, settings, gateway_id)
    return RedirectResponse(f"/console/farms/{farm_id}#gateways", status_code=303)


@router.get("/console/users")
def user_list(request: Request, conn: Conn, scope: WebScope) -> Response:
    everyone, total = users.list_users(conn, scope, PageParams(limit=500, offset=0))
    regions, _ = catalog.list_regions(conn, scope, PageParams(limit=500, offset=0))
    return render(request, "users.html", {"principal": scope.principal, "users": everyone, "total": total,
                                          "regions": regions, "new_user": request.query_params.get("created")})


@router.post("/console/users")
def create_user(conn: Conn, scope: WebScope, _: SameOrigin, username: Annotated[str, Form(max_length=64)],
                password: Annotated[str, Form(max_length=256)], role: Annotated[str, Form(max_length=20)],
                display_name: Text = "", phone: Annotated[str, Form(max_length=32)] = "",
                region: Annotated[str, Form(max_length=64)] = "") -> Response:
    if not may(scope.principal, "manage_users"):
        raise forbidden()
    staff = role in ("technician", "program_staff")
    user = _model(UserIn, username=username.strip(), password=password, role=role,
                  display_name=display_name.strip() or None, phone=phone.strip() or None,
                  regions=[region] if staff and region else [])
    created = users.create_user(conn, scope, user.model_dump())
    return RedirectResponse(f"/console/users?created={created['username']}", status_code=303)


@router.post("/console/users/{user_id}/active")
def set_active(user_id: int, conn: Conn, scope: WebScope, now: Now, throttle: Throttle, _: SameOrigin,
               active: Annotated[bool, Form()]) -> Response:
    if not may(scope.principal, "manage_users"):
        raise forbidden()
    if user_id == scope.principal.user_id and not active:
        raise ApiError(409, "conflict", "you cannot deactivate yourself", zh="不能停用自己的账号")
    users.patch_user(conn, scope, user_id, {"active": active}, now, throttle)
    return RedirectResponse("/console/users", status_code=303)
