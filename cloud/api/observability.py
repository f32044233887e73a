"""Health, readiness and Prometheus metrics for the API process."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from psycopg_pool import ConnectionPool

from cloud.api.errors import body

API_PREFIX = "/api/v1"


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter("fhy_api_requests", "HTTP requests", ["method", "route", "status"], registry=registry)
        self.seconds = Histogram("fhy_api_request_seconds", "Request handling time", ["method", "route"],
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5), registry=registry)


def install(app: FastAPI, metrics: ApiMetrics | None) -> None:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz")
    def healthz() -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @router.get("/readyz", responses={503: {"description": "the database does not answer"}})
    def readyz(request: Request) -> Response:
        """The database answers a query."""
        pool: ConnectionPool = request.app.state.pool
        try:
            with pool.connection(timeout=5) as conn:
                conn.execute("SELECT 1").fetchone()
        except Exception as exc:
            from fastapi.responses import JSONResponse

            return JSONResponse(body("not_ready", "database unavailable", str(exc)[:200]), status_code=503)
        return Response('{"status":"ready"}', media_type="application/json")

    if metrics is not None:
        @router.get("/metrics", include_in_schema=False)
        def prometheus() -> Response:
            return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

        @app.middleware("http")
        async def measure(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
            start = time.perf_counter()
            response = await call_next(request)
            route = request.scope.get("route")
            # Templates, not raw paths: bounded label values. Included routers keep their own
            # path, so the mount prefix is added back.
            template = getattr(route, "path", "unmatched")
            if request.url.path.startswith(API_PREFIX) and not template.startswith(API_PREFIX):
                template = API_PREFIX + template
            metrics.requests.labels(request.method, template, str(response.status_code)).inc()
            metrics.seconds.labels(request.method, template).observe(time.perf_counter() - start)
            return response

    app.include_router(router)
