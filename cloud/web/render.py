"""Template rendering with the page language, the translator and the signed-in user."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from cloud.web.i18n import LANG_COOKIE, pick, translator

TEMPLATES = Path(__file__).parent / "templates"


FARM_TZ = ZoneInfo("Asia/Shanghai")  # the farms' clock: every time a person reads is in it


def local_time(value: datetime | None, fmt: str = "%m-%d %H:%M") -> str:
    """A stored (UTC) time as the farm's wall clock; naive values are taken as UTC."""
    if value is None:
        return "–"
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(FARM_TZ).strftime(fmt)


def templates() -> Jinja2Templates:
    tpl = Jinja2Templates(directory=str(TEMPLATES))
    tpl.env.filters["local"] = local_time
    return tpl


def lang_of(request: Request, principal: Any = None) -> str:
    return pick(request.cookies.get(LANG_COOKIE), getattr(principal, "locale", None))


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    principal = context.get("principal")
    lang = lang_of(request, principal)
    tpl: Jinja2Templates = request.app.state.templates
    response = tpl.TemplateResponse(request, name, {**context, "lang": lang, "t": translator(lang),
                                                    "path": request.url.path}, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response
