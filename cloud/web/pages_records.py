"""A farm's own record book in the web app: upload, preview (how each column was understood, a
select per column to correct it, the per-cell problems), import; then its backtest, one click away.

Scoped as the farm page: the farm must be visible; importing needs the right to record days.
Between preview and import the book travels back in the form (base64), so nothing is kept on
the server for a preview that is never imported.
"""

from __future__ import annotations

import base64
import binascii
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from cloud.alerts.flock_backtest import backtest_flock
from cloud.api.deps import Conn
from cloud.api.errors import ApiError, forbidden, not_found
from cloud.api.pagination import PageParams
from cloud.api.scope import Scope, may
from cloud.api.services import catalog
from cloud.api.services.record_import import import_book
from cloud.records import BookError, read_book
from cloud.records.columns import FIELDS, IGNORE
from cloud.records.text import say
from cloud.web.deps import SameOrigin, WebScope
from cloud.web.pages_farm import FARM_TZ
from cloud.web.render import lang_of, render

router = APIRouter()
# The book returns in a form field, which the form parser caps at 1 MiB: 700 KiB of book in base64
# fits. A farm's daily book of several years is far smaller.
BOOK_LIMIT = 700 * 1024
CHOICES = (*FIELDS, IGNORE)


def _farm(conn: Any, scope: Scope, farm_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    farm = catalog.get_farm(conn, scope, farm_id)
    flocks, _ = catalog.list_flocks(conn, scope, PageParams(limit=50, offset=0), farm_id=farm_id)
    return farm, flocks


def _today(request: Request) -> date:
    now: datetime = request.app.state.clock()
    return now.astimezone(FARM_TZ).date()


@router.get("/farm/{farm_id}/import")
def upload_page(request: Request, farm_id: str, conn: Conn, scope: WebScope, flock: str | None = None) -> Response:
    farm, flocks = _farm(conn, scope, farm_id)
    if not may(scope.principal, "record_daily"):
        raise forbidden()
    return render(request, "import.html", {"principal": scope.principal, "farm": farm, "flocks": flocks,
                                           "flock_id": flock})


@router.post("/farm/{farm_id}/import")
def upload(request: Request, farm_id: str, conn: Conn, scope: WebScope, _: SameOrigin,
                 flock_id: Annotated[str, Form(max_length=64)],
                 action: Annotated[str, Form(pattern="^(preview|import)$")] = "preview",
                 file: Annotated[UploadFile | None, File()] = None,
                 book: Annotated[str | None, Form()] = None,
                 filename: Annotated[str, Form(max_length=200)] = "book.xlsx",
                 sheet: Annotated[str, Form(max_length=100)] = "",
                 col: Annotated[list[str] | None, Form()] = None,
                 read_as: Annotated[list[str] | None, Form()] = None) -> Response:
    farm, flocks = _farm(conn, scope, farm_id)
    if not may(scope.principal, "record_daily"):
        raise forbidden()
    if flock_id not in {f["id"] for f in flocks}:
        raise not_found("flock", flock_id)
    lang = lang_of(request, scope.principal)
    page = {"principal": scope.principal, "farm": farm, "flocks": flocks, "flock_id": flock_id, "sheet": sheet}
    if file is not None and file.filename:
        data = file.file.read(BOOK_LIMIT + 1)
        filename = file.filename
    else:
        data = _decode(book)
    if len(data) > BOOK_LIMIT:
        return render(request, "import.html", {**page, "error": say("too_large", lang, {"limit": BOOK_LIMIT // 1024})},
                      status_code=413)
    mapping = {k: v for k, v in zip(col or [], read_as or [], strict=False) if v in CHOICES}
    try:
        read = read_book(data, filename, sheet or None, mapping)
    except BookError as exc:
        return render(request, "import.html", {**page, "error": exc.text(lang)}, status_code=422)
    result = import_book(conn, scope, flock_id, read, _today(request), dry_run=action != "import")
    summary = result.to_dict(read, lang)
    return render(request, "import.html", {
        **page, "read": read, "summary": summary, "done": action == "import", "filename": filename,
        "book": base64.b64encode(data).decode("ascii"), "choices": CHOICES})


def _decode(book: str | None) -> bytes:
    if not book:
        raise ApiError(422, "invalid", "choose a file")
    try:
        return base64.b64decode(book, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(422, "invalid", "the book was not sent back intact; upload it again") from exc


@router.get("/farm/{farm_id}/backtest")
def backtest_page(request: Request, farm_id: str, conn: Conn, scope: WebScope, flock: str) -> Response:
    farm, flocks = _farm(conn, scope, farm_id)
    if flock not in {f["id"] for f in flocks}:
        raise not_found("flock", flock)
    lang = lang_of(request, scope.principal)
    result = backtest_flock(conn, flock, _today(request), request.app.state.settings.timezone, lang)
    if result is None:
        raise not_found("flock", flock)
    return render(request, "backtest.html", {"principal": scope.principal, "farm": farm, "flock_id": flock,
                                             "result": result})
