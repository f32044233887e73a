"""Mounting the web pages, static files and HTML error pages onto the API application."""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from cloud.api.errors import ApiError
from cloud.settings import CloudSettings
from cloud.web import (
    pages_auth,
    pages_console,
    pages_farm,
    pages_onboard,
    pages_records,
    pages_reports,
)
from cloud.web.render import lang_of, render, templates

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
mimetypes.add_type("application/manifest+json", ".webmanifest")


class CachedStatic(StaticFiles):
    """Static assets with a day of caching: phones on a slow link fetch them once."""

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers.setdefault("Cache-Control", "public, max-age=86400")
        return response


def install(app: FastAPI, settings: CloudSettings,
            clock: Callable[[], datetime] | None = None) -> Callable[..., Response | None]:
    app.state.templates = templates()
    app.state.clock = clock or (lambda: datetime.now(UTC))
    app.mount("/static", CachedStatic(directory=STATIC), name="static")
    for module in (pages_auth, pages_farm, pages_records, pages_console, pages_onboard, pages_reports):
        app.include_router(module.router, include_in_schema=False)

    @app.get("/sw.js", include_in_schema=False)
    def service_worker() -> Response:  # served from the root so that it may cover every page
        return Response((STATIC / "sw.js").read_bytes(), media_type="text/javascript",
                        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"})

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:  # browsers ask for it before reading the page's <link rel="icon">
        return RedirectResponse("/static/icon-32.png", status_code=301)

    def html_error(request: Request, status: int, message: str, exc: ApiError | None = None) -> Response | None:
        if request.url.path.startswith(("/static", "/metrics", "/healthz", "/readyz", "/openapi", "/docs")):
            return None
        if status == 401:
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        key = {403: "forbidden", 404: "not_found", 422: "invalid_input"}.get(status, "error")
        if exc is not None:
            message = exc.message_for(lang_of(request))
        return render(request, "error.html", {"key": key, "message": message, "principal": None}, status_code=status)

    return html_error
