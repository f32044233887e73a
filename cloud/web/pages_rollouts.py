"""The console's rollouts page: start a staged rollout in one's area, watch each stage's health,
halt, resume or roll back (the same service as the API, cloud/releases/rollouts.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from cloud.api.deps import Conn
from cloud.api.errors import forbidden, not_found
from cloud.api.scope import Scope, may
from cloud.api.services.paging import rows
from cloud.releases import rollouts
from cloud.web.deps import SameOrigin, WebScope
from cloud.web.render import render

router = APIRouter()


def _console_only(scope: Scope) -> None:
    if not may(scope.principal, "push_config"):
        raise forbidden("the console is for technicians")


def _list_page(request: Request, conn: Conn, scope: Scope, *, error: str | None = None,
               status_code: int = 200) -> Response:
    releases = rows(conn, "SELECT id, version, size, notes, created_at FROM releases ORDER BY id DESC LIMIT 50", ())
    return render(request, "rollouts.html", {"principal": scope.principal, "rollouts": rollouts.list_rollouts(conn, scope.farms),
                                             "releases": releases, "error": error}, status_code=status_code)


@router.get("/console/rollouts")
def rollout_list(request: Request, conn: Conn, scope: WebScope) -> Response:
    _console_only(scope)
    return _list_page(request, conn, scope)


@router.post("/console/rollouts")
def rollout_start(request: Request, conn: Conn, scope: WebScope, _: SameOrigin,
                  version: Annotated[str, Form(max_length=64, pattern=r"^[0-9A-Za-z][0-9A-Za-z._+-]*$")],
                  stages: Annotated[str, Form(max_length=20_000, pattern=r"^[A-Za-z0-9_:,.\- \r\n]+$")],
                  halt_share: Annotated[float, Form(ge=0, le=1)] = 0.2,
                  advance_share: Annotated[float, Form(gt=0, le=1)] = 0.9) -> Response:
    _console_only(scope)
    try:
        specs = [rollouts.StageSpec.parse(line) for line in stages.splitlines() if line.strip()]
        rollout_id = rollouts.start(conn, request.app.state.publisher, version, specs, scope_farms=scope.farms,
                                    user_id=scope.principal.user_id, halt_share=halt_share,
                                    advance_share=advance_share)
    except rollouts.RolloutError as exc:
        conn.rollback()
        return _list_page(request, conn, scope, error=str(exc), status_code=exc.status)
    return RedirectResponse(f"/console/rollouts/{rollout_id}", status_code=303)


@router.get("/console/rollouts/{rollout_id}")
def rollout_page(request: Request, rollout_id: int, conn: Conn, scope: WebScope, error: str | None = None) -> Response:
    _console_only(scope)
    if not (1 <= rollout_id < 2**63) or not rollouts.visible(conn, rollout_id, scope.farms):
        raise not_found("rollout", rollout_id)
    return render(request, "rollout.html", {"principal": scope.principal, "r": rollouts.summary(conn, rollout_id),
                                            "error": error})


@router.post("/console/rollouts/{rollout_id}/action")
def rollout_action(request: Request, rollout_id: int, conn: Conn, scope: WebScope, _: SameOrigin,
                   action: Annotated[str, Form(pattern="^(halt|resume|rollback)$")]) -> Response:
    _console_only(scope)
    if not (1 <= rollout_id < 2**63) or not rollouts.visible(conn, rollout_id, scope.farms):
        raise not_found("rollout", rollout_id)
    publisher = request.app.state.publisher
    try:
        if action == "halt":
            rollouts.halt(conn, publisher, rollout_id, f"halted by {scope.principal.username}")
        elif action == "resume":
            rollouts.resume(conn, publisher, rollout_id)
        else:
            rollouts.roll_back(conn, publisher, rollout_id)
    except rollouts.RolloutError as exc:
        conn.rollback()
        return render(request, "rollout.html", {"principal": scope.principal, "r": rollouts.summary(conn, rollout_id),
                                                "error": str(exc)}, status_code=422)
    return RedirectResponse(f"/console/rollouts/{rollout_id}", status_code=303)
