"""HTTP defences around every route: security headers, a same-origin check for cookie-authenticated
writes, and NUL characters refused in paths, query strings and form bodies (JSON bodies are
checked by the request models, cloud.api.schemas._In).

Pure ASGI middleware rather than BaseHTTPMiddleware: the SSE alert stream passes through untouched.
"""

from __future__ import annotations

import logging
from collections import Counter
from urllib.parse import unquote_plus, urlparse

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cloud.api.errors import body

log = logging.getLogger(__name__)

CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'none'")
# Swagger UI starts itself with an inline script; only /docs gets that allowance.
DOCS_CSP = CSP.replace("default-src 'self'", "default-src 'self'; script-src 'self' 'unsafe-inline'")
HSTS = "max-age=31536000; includeSubDomains"
MAX_FORM_BYTES = 2 * 1024 * 1024
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def security_headers(path: str, https: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", (DOCS_CSP if path == "/docs" else CSP).encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
    ]
    if https:  # only over TLS: HSTS on plain HTTP is ignored by browsers and breaks local setups
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


def cross_site(headers: Headers, host: str) -> bool:
    """True when the browser says the request comes from another site. Requests with neither
    header come from non-browser clients, which cannot carry a victim's cookie (SameSite=Strict
    covers old browsers)."""
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = headers.get("origin") or headers.get("referer")
    return origin is not None and urlparse(origin).netloc != host


class HttpGuards:
    def __init__(self, app: ASGIApp, cookie_name: str) -> None:
        self.app = app
        self.cookie_name = cookie_name
        self.counters: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if self._cookie_write(request) and cross_site(request.headers, request.headers.get("host", "")):
            self.counters["cross_site_refused"] += 1
            log.warning("cross-site %s %s with the session cookie refused", request.method, request.url.path)
            await self._refuse(scope, receive, send, 403, "cross_site", "cross-site request refused")
            return
        if "\x00" in scope["path"] or "\x00" in unquote_plus(scope.get("query_string", b"").decode("latin-1")):
            self.counters["nul_refused"] += 1
            await self._refuse(scope, receive, send, 422, "invalid", "NUL characters are not allowed")
            return
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            raw = await _read_body(receive, MAX_FORM_BYTES)
            if raw is None:
                await self._refuse(scope, receive, send, 413, "too_large", "form body too large")
                return
            if "\x00" in unquote_plus(raw.decode("utf-8", "replace")):
                self.counters["nul_refused"] += 1
                await self._refuse(scope, receive, send, 422, "invalid", "NUL characters are not allowed")
                return
            receive = _replay(raw)
        extra = security_headers(scope["path"], scope.get("scheme") == "https")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in extra if h[0] not in names]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _cookie_write(self, request: Request) -> bool:
        # A bearer token is not sent by browsers on their own: only cookie sessions need the check.
        if request.method not in UNSAFE_METHODS or self.cookie_name not in request.cookies:
            return False
        return not request.headers.get("authorization", "").lower().startswith("bearer ")

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, code: str,
                      message: str) -> None:
        response = JSONResponse(body(code, message), status_code=status)
        response.headers.update({k.decode(): v.decode() for k, v in security_headers(scope["path"], False)})
        await response(scope, receive, send)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(raw: bytes) -> Receive:
    """A receive that hands the buffered form body to the app, then waits for the disconnect."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def install(app: FastAPI, cookie_name: str) -> None:
    app.add_middleware(HttpGuards, cookie_name=cookie_name)


