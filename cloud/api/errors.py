"""One error body for every failure: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
          405: "method_not_allowed", 409: "conflict", 422: "invalid", 429: "too_many_attempts",
          500: "internal"}


class ApiError(Exception):
    """`message` is English; `zh` is the same in Chinese, for people (pages, zh Accept-Language)."""

    def __init__(self, status: int, code: str, message: str, details: Any = None,
                 headers: dict[str, str] | None = None, zh: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers
        self.zh = zh

    def message_for(self, lang: str) -> str:
        return self.zh if lang.startswith("zh") and self.zh else self.message


def invalid(zh: str, en: str, details: Any = None) -> ApiError:
    """A 422 for input a person typed, said in both languages."""
    return ApiError(422, "invalid", en, details, zh=zh)


def not_found(entity: str, entity_id: object) -> ApiError:
    # Out of scope and absent look the same, so ids outside a user's scope leak nothing.
    return ApiError(404, "not_found", f"{entity} {entity_id} not found")


def forbidden(message: str = "your role may not do this") -> ApiError:
    return ApiError(403, "forbidden", message)


def body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def _json_safe(errors: list[Any]) -> list[dict[str, Any]]:
    return [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in errors]


def _api_lang(request: Request) -> str:
    # Scripts get English unless they ask; people's pages take their language from the page.
    return "zh-CN" if request.headers.get("accept-language", "").lower().startswith("zh") else "en"


def install(app: FastAPI, html_handler: Any = None) -> None:
    """Register handlers; `html_handler(request, status, message, exc)` answers browser pages."""

    def respond(request: Request, status: int, code: str, message: str, details: Any = None,
                headers: dict[str, str] | None = None, exc: ApiError | None = None) -> Any:
        if html_handler is not None and not request.url.path.startswith("/api"):
            page = html_handler(request, status, message, exc)
            if page is not None:
                return page
        return JSONResponse(body(code, message, details), status_code=status, headers=headers)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Any:
        return respond(request, exc.status, exc.code, exc.message_for(_api_lang(request)), exc.details,
                       exc.headers, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Any:
        return respond(request, exc.status_code, _CODES.get(exc.status_code, "error"), str(exc.detail),
                       headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Any:
        return respond(request, 422, "invalid", "request is not valid", _json_safe(list(exc.errors())))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Any:
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(body("internal", "internal error"), status_code=500)
