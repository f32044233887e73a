"""Agent releases and staged rollouts: technicians start, watch, halt, resume and roll back
rollouts in their area; gateways download bundles with their own broker login (HTTP Basic)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from cloud.api.deps import Conn, CurrentScope
from cloud.api.errors import ApiError, not_found
from cloud.api.routes.gateways import Publisher
from cloud.api.scope import Scope, may
from cloud.provisioning.passwords import verify_password
from cloud.releases import rollouts
from cloud.releases.store import ReleaseStore

router = APIRouter(tags=["releases"])
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class RolloutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str = Field(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z][0-9A-Za-z._+-]*$")
    stages: list[Annotated[str, Field(min_length=3, max_length=4000, pattern=r"^[A-Za-z0-9_:,.\- ]+$")]] = Field(
        min_length=1, max_length=10)
    halt_share: float = Field(0.2, ge=0, le=1)
    advance_share: float = Field(0.9, gt=0, le=1)
    soak_s: int = Field(0, ge=0, le=7 * 86400)


def get_store(request: Request) -> ReleaseStore:
    store: ReleaseStore = request.app.state.releases
    return store


Store = Annotated[ReleaseStore, Depends(get_store)]


def _may_roll_out(scope: Scope) -> None:
    if not may(scope.principal, "push_config"):
        raise ApiError(403, "forbidden", "only technicians and administrators roll out releases")


def _rollout_in_scope(conn: Conn, scope: Scope, rollout_id: int) -> None:
    if not rollouts.visible(conn, rollout_id, scope.farms):
        raise not_found("rollout", rollout_id)


def _bad_request(exc: rollouts.RolloutError) -> ApiError:
    return ApiError(exc.status, "not_found" if exc.status == 404 else "rollout_refused", str(exc))


@router.get("/releases")
def list_releases(conn: Conn, scope: CurrentScope) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT id, version, name, sha256, size, notes, created_at FROM releases "
                        "ORDER BY id DESC LIMIT 200").fetchall()
    return [{"id": r[0], "version": r[1], "name": r[2], "sha256": r[3], "size": r[4], "notes": r[5],
             "created_at": r[6].isoformat()} for r in rows]


@router.get("/rollouts")
def list_rollouts(conn: Conn, scope: CurrentScope) -> list[dict[str, Any]]:
    return rollouts.list_rollouts(conn, scope.farms)


@router.get("/rollouts/{rollout_id}")
def get_rollout(rollout_id: RowId, conn: Conn, scope: CurrentScope) -> dict[str, Any]:
    _rollout_in_scope(conn, scope, rollout_id)
    return rollouts.summary(conn, rollout_id)


@router.post("/rollouts", status_code=201)
def start_rollout(body: RolloutIn, conn: Conn, scope: CurrentScope, publisher: Publisher) -> dict[str, Any]:
    """Stages as `gateways:<id,...>`, `region:<id>` or `all` (all: every gateway in your area)."""
    _may_roll_out(scope)
    try:
        specs = [rollouts.StageSpec.parse(s) for s in body.stages]
        rollout_id = rollouts.start(conn, publisher, body.version, specs, scope_farms=scope.farms,
                                    user_id=scope.principal.user_id, halt_share=body.halt_share,
                                    advance_share=body.advance_share, soak_s=body.soak_s)
    except rollouts.RolloutError as exc:
        conn.rollback()
        raise _bad_request(exc) from None
    return rollouts.summary(conn, rollout_id)


@router.post("/rollouts/{rollout_id}/{action}")
def act_on_rollout(rollout_id: RowId, action: Annotated[str, Path(pattern="^(halt|resume|rollback)$")], conn: Conn, scope: CurrentScope,
                   publisher: Publisher) -> dict[str, Any]:
    """`halt`, `resume` or `rollback`."""
    _may_roll_out(scope)
    _rollout_in_scope(conn, scope, rollout_id)
    try:
        if action == "halt":
            rollouts.halt(conn, publisher, rollout_id, f"halted by {scope.principal.username}")
        elif action == "resume":
            rollouts.resume(conn, publisher, rollout_id)
        elif action == "rollback":
            rollouts.roll_back(conn, publisher, rollout_id)
        else:
            raise not_found("rollout action", action)
    except rollouts.RolloutError as exc:
        conn.rollback()
        raise _bad_request(exc) from None
    return rollouts.summary(conn, rollout_id)


def _gateway_login(request: Request, conn: Conn) -> str:
    """A gateway's own broker login; a bad one answers as a missing one (nothing to probe)."""
    challenge = {"WWW-Authenticate": 'Basic realm="fuhuiyang gateway"'}
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        user = password = ""
    if scheme.lower() == "basic" and user and password:
        row = conn.execute("SELECT password_hash FROM gateways WHERE id = %s AND revoked_at IS NULL",
                           (user,)).fetchone()
        if row is not None and row[0] and verify_password(password, row[0]):
            return user
    raise ApiError(401, "unauthorized", "a gateway login is required", headers=challenge)


@router.get("/gateway/releases/{release_id}/bundle", include_in_schema=False)
def download_bundle(release_id: RowId, request: Request, conn: Conn, store: Store) -> Response:
    """The bundle for a gateway that is a target of a rollout of this release (or returns to it)."""
    gateway_id = _gateway_login(request, conn)
    row = conn.execute(
        "SELECT rel.path, rel.sha256 FROM releases rel WHERE rel.id = %s AND EXISTS ("
        "  SELECT 1 FROM rollout_targets t JOIN rollouts r ON r.id = t.rollout_id "
        "  WHERE t.gateway_id = %s AND (r.release_id = rel.id OR t.previous_release_id = rel.id))",
        (release_id, gateway_id)).fetchone()
    if row is None:
        raise not_found("release", release_id)
    return Response(store.read(row[0]), media_type="application/octet-stream",
                    headers={"X-Content-SHA256": row[1], "Cache-Control": "private, max-age=86400"})
