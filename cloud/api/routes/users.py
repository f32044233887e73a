"""Users (administrators) and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from cloud.api.deps import Conn, CurrentScope, Now, Throttle
from cloud.api.pagination import Page, PageParams, page_params
from cloud.api.schemas import AuditOut, IntId, SessionsRevoked, UserIn, UserOut, UserPatch
from cloud.api.services import users

router = APIRouter(tags=["users"])
Paging = Annotated[PageParams, Depends(page_params)]


@router.get("/users", response_model=Page[UserOut])
def list_users(conn: Conn, scope: CurrentScope, paging: Paging) -> Page[UserOut]:
    items, total = users.list_users(conn, scope, paging)
    return Page(items=[UserOut(**i) for i in items], total=total, **paging.model_dump())


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserIn, conn: Conn, scope: CurrentScope) -> UserOut:
    return UserOut(**users.create_user(conn, scope, body.model_dump()))


@router.get("/users/{user_id}", response_model=UserOut)
def get_user(user_id: IntId, conn: Conn, scope: CurrentScope) -> UserOut:
    return UserOut(**users.get_user(conn, scope, user_id))


@router.patch("/users/{user_id}", response_model=UserOut)
def patch_user(user_id: IntId, body: UserPatch, conn: Conn, scope: CurrentScope, now: Now,
               throttle: Throttle) -> UserOut:
    return UserOut(**users.patch_user(conn, scope, user_id, body.model_dump(exclude_unset=True), now, throttle))


@router.post("/users/{user_id}/sessions/revoke", response_model=SessionsRevoked)
def revoke_sessions(user_id: IntId, conn: Conn, scope: CurrentScope, now: Now) -> SessionsRevoked:
    """End every session of the user: their tokens stop working at once."""
    return SessionsRevoked(revoked=users.revoke_sessions(conn, scope, user_id, now))


@router.get("/audit", response_model=Page[AuditOut])
def list_audit(conn: Conn, scope: CurrentScope, paging: Paging,
               entity: Annotated[str | None, Query(pattern="^[a-z_]{1,40}$")] = None) -> Page[AuditOut]:
    items, total = users.list_audit(conn, scope, paging, entity)
    return Page(items=[AuditOut(**i) for i in items], total=total, **paging.model_dump())
