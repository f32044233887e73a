"""The technician console: gateway health across the area, one gateway's sensors, config and history."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from cloud.api.deps import Conn, Settings
from cloud.api.errors import ApiError, forbidden
from cloud.api.pagination import PageParams
from cloud.api.schemas import contains_nul
from cloud.api.scope import Scope, may
from cloud.api.services import catalog, gateways, labels, provision, sms_budget
from cloud.api.services.paging import rows
from cloud.web import charts, config_form
from cloud.web.deps import SameOrigin, WebScope
from cloud.web.i18n import translator
from cloud.web.render import lang_of, render

router = APIRouter()
COLOURS = {"temperature_c": "#b34700", "humidity_pct": "#1f5fbf", "nh3_ppm": "#6b3fa0", "co2_ppm": "#2e7d32",
           "water_l": "#00796b", "light_lux": "#8d6e00"}


def _console_only(scope: Scope) -> None:
    if not may(scope.principal, "push_config"):
        raise forbidden("the console is for technicians")


@router.get("/console")
def console(request: Request, conn: Conn, scope: WebScope, page: int = 0) -> Response:
    _console_only(scope)
    items, total = gateways.list_gateways(conn, scope, PageParams(limit=100, offset=max(0, page) * 100))
    farms = {r["id"]: r["name"] for r in rows(conn, "SELECT id, name FROM farms WHERE id = ANY(%s)",
                                              ([g["farm_id"] for g in items],))}
    now = request.app.state.clock()
    my_farms, _ = catalog.list_farms(conn, scope, PageParams(limit=500, offset=0))
    budget = sms_budget.per_person(conn, scope)
    refused = sms_budget.refusals(conn, scope)
    health = labels.camera_health(conn, scope)
    blind = [c for c in health if c["reasons"]]  # cameras the detector cannot read
    text_unzoned = [c for c in health if c["text_unzoned"]]  # burned-in text the detector may report
    return render(request, "console.html", {"principal": scope.principal, "gateways": items, "total": total,
                                            "farms": farms, "now": now, "page": page, "my_farms": my_farms,
                                            "budget": budget, "refused": refused, "blind": blind,
                                            "text_unzoned": text_unzoned})


def _sensor_charts(conn: Conn, sensors: list[dict[str, Any]], now: Any, t: Any) -> list[dict[str, Any]]:
    out = []
    start = now - timedelta(hours=48)
    for s in sensors:
        if not s["house_id"] or not s["metric"]:
            continue
        points = rows(conn, "SELECT bucket, avg FROM env_hourly WHERE house_id = %s AND metric = %s "
                            "AND bucket >= %s AND bucket <= %s ORDER BY bucket", (s["house_id"], s["metric"], start, now))
        series = [charts.Series(t(s["metric"]), [((p["bucket"] - start).total_seconds() / 3600, float(p["avg"]))
                                              for p in points], COLOURS.get(s["metric"], "#333"))]
        ticks = [(float(h), f"-{48 - h}h") for h in range(0, 49, 12)]
        out.append({"sensor": s, "svg": charts.line_chart(series, title=f"{s['id']} · {t(s['metric'])}", x_labels=ticks)})
    return out


def _gateway_page(request: Request, conn: Conn, scope: Scope, gateway_id: str, **extra: Any) -> Response:
    gw = gateways.get_gateway(conn, scope, gateway_id)
    sensors = gateways.sensors(conn, scope, gateway_id)
    history, _ = gateways.config_history(conn, scope, gateway_id, PageParams(limit=10, offset=0))
    version, current = gateways.current_config(conn, gateway_id)
    lang = lang_of(request, scope.principal)
    t = translator(lang)
    desired = extra.pop("form_desired", current)
    context = {"principal": scope.principal, "gw": gw, "sensors": sensors,
               "settings_rows": config_form.form_rows(gateways.applied_config(conn, gateway_id), desired, lang),
               "setting_label": lambda path: config_form.label_of(path, lang),
               "cameras": gateways.cameras(conn, scope, gateway_id), "history": history,
               "current_text": json.dumps(current, indent=2, ensure_ascii=False), "version": version,
               "charts": _sensor_charts(conn, sensors, request.app.state.clock(), t), "check": None,
               "pushed": request.query_params.get("pushed"), **extra}
    if extra.get("text") is None:
        context["text"] = context["current_text"]
    return render(request, "gateway.html", context, status_code=extra.pop("status_code", 200))


@router.get("/console/gateways/{gateway_id}")
def gateway(request: Request, gateway_id: str, conn: Conn, scope: WebScope) -> Response:
    _console_only(scope)
    return _gateway_page(request, conn, scope, gateway_id)


@router.post("/console/gateways/{gateway_id}/config")
def config(request: Request, gateway_id: str, conn: Conn, scope: WebScope, _: SameOrigin,
           config: Annotated[str, Form(max_length=200_000)], action: Annotated[str, Form(pattern="^(check|push)$")],
           expected_version: Annotated[int, Form(ge=0)]) -> Response:
    _console_only(scope)
    try:
        document = json.loads(config)
    except json.JSONDecodeError as exc:
        check = {"valid": False, "problems": [f"JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"], "diff": []}
        return _gateway_page(request, conn, scope, gateway_id, check=check, text=config, status_code=422)
    if contains_nul(document):  # "\u0000" in the JSON: jsonb cannot store it
        check = {"valid": False, "problems": ["JSON: NUL characters are not allowed"], "diff": []}
        return _gateway_page(request, conn, scope, gateway_id, check=check, text=config, status_code=422)
    check = gateways.check_config(conn, scope, gateway_id, document)
    if action == "check" or not check["valid"]:
        return _gateway_page(request, conn, scope, gateway_id, check=check, text=config,
                             status_code=200 if check["valid"] else 422)
    try:
        result = gateways.push_config(conn, scope, gateway_id, document, request.app.state.publisher, expected_version)
    except ApiError as exc:
        check = {"valid": False, "problems": [exc.message], "diff": check["diff"]}
        return _gateway_page(request, conn, scope, gateway_id, check=check, text=config, status_code=exc.status)
    return RedirectResponse(f"/console/gateways/{gateway_id}?pushed={result['version']}", status_code=303)


async def _form_fields(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.post("/console/gateways/{gateway_id}/settings")
def settings_form(request: Request, gateway_id: str, conn: Conn, scope: WebScope, _: SameOrigin,
                  form: Annotated[dict[str, str], Depends(_form_fields)]) -> Response:
    """The settings form: the next desired config is the current one with the form's values."""
    _console_only(scope)
    action, expected = form.get("action"), form.get("expected_version", "")
    if action not in ("check", "push") or not expected.isdigit():
        raise ApiError(422, "invalid", "action must be check or push, with the expected version")
    current = gateways.current_config(conn, gateway_id)[1]
    document, problems = config_form.overlay_from_form(current, form)
    text = json.dumps(document, indent=2, ensure_ascii=False)
    check = gateways.check_config(conn, scope, gateway_id, document)
    check["problems"] = problems + check["problems"]
    check["valid"] = not check["problems"]
    if action == "check" or not check["valid"]:
        return _gateway_page(request, conn, scope, gateway_id, check=check, text=text, form_desired=document,
                             status_code=200 if check["valid"] else 422)
    try:
        result = gateways.push_config(conn, scope, gateway_id, document, request.app.state.publisher, int(expected))
    except ApiError as exc:
        check = {"valid": False, "problems": [exc.message], "diff": check["diff"]}
        return _gateway_page(request, conn, scope, gateway_id, check=check, text=text, form_desired=document,
                             status_code=exc.status)
    return RedirectResponse(f"/console/gateways/{gateway_id}?pushed={result['version']}#settings", status_code=303)


@router.post("/console/provision")
def provision_gateway(request: Request, conn: Conn, scope: WebScope, settings: Settings, _: SameOrigin,
                      farm_id: Annotated[str, Form(max_length=64)],
                      gateway_id: Annotated[str, Form(max_length=64)] = "") -> Response:
    """Register a gateway and show its credentials once, with gateway.yaml and a QR code."""
    _console_only(scope)
    return show_credentials(request, scope, provision.register(conn, scope, settings, farm_id,
                                                               gateway_id.strip() or None))


def show_credentials(request: Request, scope: Scope, credentials: dict[str, Any]) -> Response:
    """New credentials (a registration or a rotation), shown once with gateway.yaml and a QR code."""
    return render(request, "provisioned.html", {
        "principal": scope.principal, "c": credentials, "qr": provision.qr_svg(provision.essentials(credentials)),
        "yaml_href": "data:text/yaml;charset=utf-8," + quote(credentials["gateway_yaml"])})
