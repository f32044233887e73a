"""Login, logout, the language switch, and each role's home page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from cloud.api import sessions
from cloud.api.deps import TOKEN_COOKIE, Conn, Issuer, Now, OptionalUser, Settings, Throttle
from cloud.api.errors import ApiError
from cloud.api.login_throttle import LockedOut
from cloud.api.routes.auth import authenticate, client_address
from cloud.api.scope import Role
from cloud.api.services import phone_login
from cloud.web.deps import SameOrigin, WebScope
from cloud.web.i18n import LANG_COOKIE, LANGS
from cloud.web.render import lang_of, render

router = APIRouter()
HOME = {Role.FARMER: "/farm", Role.TECHNICIAN: "/console", Role.PROGRAM_STAFF: "/reports", Role.ADMIN: "/reports"}


def safe_next(value: str | None) -> str | None:
    # Only paths on this site: never an open redirect.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return None


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", {"next": safe_next(next) or "", "error": None, "principal": None})


@router.post("/login")
def login(request: Request, conn: Conn, issuer: Issuer, settings: Settings, throttle: Throttle, now: Now,
          _: SameOrigin, username: Annotated[str, Form(max_length=64)], password: Annotated[str, Form(max_length=256)],
          next: Annotated[str, Form(max_length=500)] = "") -> Response:
    try:
        token, _user = authenticate(conn, issuer, throttle, now, client_address(request), username, password)
    except LockedOut as exc:
        response = render(request, "login.html", {"next": safe_next(next) or "", "error": "locked",
                                              "principal": None, "username": username}, status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    except ApiError:
        return render(request, "login.html", {"next": safe_next(next) or "", "error": "bad_login",
                                              "principal": None, "username": username}, status_code=401)
    return _signed_in(request, token, settings, next)


@router.post("/login/code")
def send_code(request: Request, conn: Conn, now: Now, _: SameOrigin, phone: Annotated[str, Form(max_length=32)],
              next: Annotated[str, Form(max_length=500)] = "") -> Response:
    """Farmers: a code by SMS; the page then asks for it (the same answer for any number)."""
    context = {"next": safe_next(next) or "", "principal": None, "phone": phone, "error": None}
    try:
        phone_login.send_code(conn, phone, now)
    except ApiError as exc:
        response = render(request, "login_code.html", {**context, "error": exc.message_for(lang_of(request))},
                          status_code=exc.status)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response
    return render(request, "login_code.html", context)


@router.post("/login/code/verify")
def verify_code(request: Request, conn: Conn, issuer: Issuer, settings: Settings, throttle: Throttle, now: Now,
                _: SameOrigin, phone: Annotated[str, Form(max_length=32)], code: Annotated[str, Form(max_length=12)],
                next: Annotated[str, Form(max_length=500)] = "") -> Response:
    context = {"next": safe_next(next) or "", "principal": None, "phone": phone}
    try:
        token, _user = phone_login.sign_in(conn, issuer, throttle, now, client_address(request), phone,
                                           code.strip())
    except LockedOut as exc:
        response = render(request, "login_code.html", {**context, "error": exc.message_for(lang_of(request))},
                          status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    except ApiError as exc:
        return render(request, "login_code.html", {**context, "error": exc.message_for(lang_of(request))},
                      status_code=exc.status)
    return _signed_in(request, token, settings, next)


def _signed_in(request: Request, token: str, settings: Any, next: str) -> Response:
    redirect = RedirectResponse(safe_next(next) or "/", status_code=303)
    redirect.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict", max_age=settings.jwt_ttl_minutes * 60,
                        secure=request.url.scheme == "https")
    return redirect


@router.post("/logout")
def logout(request: Request, conn: Conn, now: Now, principal: OptionalUser, _: SameOrigin) -> Response:
    if principal is not None:  # the token dies on the server, not only in this browser
        sessions.revoke(conn, request.state.session_id, "logout", now)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE)
    return response


@router.get("/lang/{code}")
def switch_language(code: str, next: str | None = None) -> Response:
    response = RedirectResponse(safe_next(next) or "/", status_code=303)
    if code in LANGS:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax")
    return response


@router.get("/")
def home(scope: WebScope) -> Response:
    return RedirectResponse(HOME[scope.principal.role], status_code=303)
