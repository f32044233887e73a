"""Regions, farms, houses and flocks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cloud.api.deps import Conn, CurrentScope
from cloud.api.pagination import Page, PageParams, page_params
from cloud.api.schemas import (
    FarmIn,
    FarmOut,
    FarmPatch,
    FlockIn,
    FlockOut,
    FlockPatch,
    HouseIn,
    HouseOut,
    Id,
    RegionIn,
    RegionOut,
)
from cloud.api.services import catalog

router = APIRouter(tags=["farms"])
Paging = Annotated[PageParams, Depends(page_params)]


@router.get("/regions", response_model=Page[RegionOut])
def list_regions(conn: Conn, scope: CurrentScope, paging: Paging,
                 parent_id: Annotated[Id | None, Query()] = None) -> Page[RegionOut]:
    items, total = catalog.list_regions(conn, scope, paging, parent_id)
    return Page(items=[RegionOut(**i) for i in items], total=total, **paging.model_dump())


@router.post("/regions", response_model=RegionOut, status_code=201)
def create_region(body: RegionIn, conn: Conn, scope: CurrentScope) -> RegionOut:
    return RegionOut(**catalog.create_region(conn, scope, body.model_dump()))


@router.get("/regions/{region_id}", response_model=RegionOut)
def get_region(region_id: Id, conn: Conn, scope: CurrentScope) -> RegionOut:
    return RegionOut(**catalog.get_region(conn, scope, region_id))


@router.get("/farms", response_model=Page[FarmOut])
def list_farms(conn: Conn, scope: CurrentScope, paging: Paging,
               region_id: Annotated[Id | None, Query()] = None) -> Page[FarmOut]:
    items, total = catalog.list_farms(conn, scope, paging, region_id)
    return Page(items=[FarmOut(**i) for i in items], total=total, **paging.model_dump())


@router.post("/farms", response_model=FarmOut, status_code=201)
def create_farm(body: FarmIn, conn: Conn, scope: CurrentScope) -> FarmOut:
    return FarmOut(**catalog.create_farm(conn, scope, body.model_dump()))


@router.get("/farms/{farm_id}", response_model=FarmOut)
def get_farm(farm_id: Id, conn: Conn, scope: CurrentScope) -> FarmOut:
    return FarmOut(**catalog.get_farm(conn, scope, farm_id))


@router.patch("/farms/{farm_id}", response_model=FarmOut)
def patch_farm(farm_id: Id, body: FarmPatch, conn: Conn, scope: CurrentScope) -> FarmOut:
    return FarmOut(**catalog.patch_farm(conn, scope, farm_id, body.model_dump(exclude_unset=True)))


@router.get("/farms/{farm_id}/houses", response_model=Page[HouseOut])
def list_houses(farm_id: Id, conn: Conn, scope: CurrentScope, paging: Paging) -> Page[HouseOut]:
    items, total = catalog.list_houses(conn, scope, farm_id, paging)
    return Page(items=[HouseOut(**i) for i in items], total=total, **paging.model_dump())


@router.post("/farms/{farm_id}/houses", response_model=HouseOut, status_code=201)
def create_house(farm_id: Id, body: HouseIn, conn: Conn, scope: CurrentScope) -> HouseOut:
    return HouseOut(**catalog.create_house(conn, scope, farm_id, body.model_dump()))


@router.get("/houses/{house_id}", response_model=HouseOut)
def get_house(house_id: Id, conn: Conn, scope: CurrentScope) -> HouseOut:
    return HouseOut(**catalog.get_house(conn, scope, house_id))


@router.get("/flocks", response_model=Page[FlockOut])
def list_flocks(conn: Conn, scope: CurrentScope, paging: Paging,
                farm_id: Annotated[Id | None, Query()] = None, house_id: Annotated[Id | None, Query()] = None,
                active: bool | None = None) -> Page[FlockOut]:
    items, total = catalog.list_flocks(conn, scope, paging, house_id=house_id, farm_id=farm_id, active=active)
    return Page(items=[FlockOut(**i) for i in items], total=total, **paging.model_dump())


@router.post("/houses/{house_id}/flocks", response_model=FlockOut, status_code=201)
def create_flock(house_id: Id, body: FlockIn, conn: Conn, scope: CurrentScope) -> FlockOut:
    return FlockOut(**catalog.create_flock(conn, scope, house_id, body.model_dump()))


@router.get("/flocks/{flock_id}", response_model=FlockOut)
def get_flock(flock_id: Id, conn: Conn, scope: CurrentScope) -> FlockOut:
    return FlockOut(**catalog.get_flock(conn, scope, flock_id))


@router.patch("/flocks/{flock_id}", response_model=FlockOut)
def patch_flock(flock_id: Id, body: FlockPatch, conn: Conn, scope: CurrentScope) -> FlockOut:
    return FlockOut(**catalog.patch_flock(conn, scope, flock_id, body.model_dump(exclude_unset=True)))
