"""Interactive API docs: Swagger UI 5 (it reads OpenAPI 3.1, which FastAPI writes), vendored.

Served from `swagger_ui/` (swagger-ui-dist 5.35.0, Apache-2.0, LICENSE beside it): no CDN, and
nothing fetched at run time. Swagger UI 4, as the swagger-ui-bundle package ships, cannot
render a 3.1 document.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

SWAGGER_UI = Path(__file__).with_name("swagger_ui")


def install(app: FastAPI) -> None:
    app.mount("/docs-static", StaticFiles(directory=SWAGGER_UI), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="Fuhuiyang API",
                                   swagger_js_url="/docs-static/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-static/swagger-ui.css",
                                   swagger_favicon_url="/docs-static/favicon-32x32.png")
