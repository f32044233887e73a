"""Cells of a book as rows of values, one grid per sheet: `.xlsx` through openpyxl, CSV decoded.

Merged cells: the header rows and the date column take the merged value in every cell of the
range (a date merged over a morning and an evening row is both rows' date); elsewhere only the
top-left cell holds it, so one merged number is never counted twice.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

CSV_ENCODINGS = ("utf-8-sig", "gb18030")  # GB18030 is a superset of GBK and GB2312
XLSX_SUFFIXES = (".xlsx", ".xlsm")
MAX_ROWS = 20_000  # rows with something in them, per sheet: decades of days
MAX_SHEET_ROWS = 200_000  # rows openpyxl would hand us at all (a stray cell far below the table)
MAX_UNPACKED = 64 * 1024 * 1024  # a workbook is a zip: refuse one that unpacks to more than this


class GridError(ValueError):
    """The bytes are not a book we can open; `code` keys the message in the user's language."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass
class Merge:
    top: int  # 0-based row
    left: int  # 0-based column
    bottom: int
    right: int


@dataclass
class Grid:
    sheet: str  # "" for a CSV file
    rows: list[list[Any]]
    merges: list[Merge] = field(default_factory=list)
    broken_at: int | None = None  # CSV: 1-based line where the file stopped being CSV

    def fill_merges(self, header_rows: int, date_col: int | None) -> None:
        for m in self.merges:
            value = self.rows[m.top][m.left] if m.left < len(self.rows[m.top]) else None
            for r in range(m.top, m.bottom + 1):
                for c in range(m.left, m.right + 1):
                    if (r, c) == (m.top, m.left):
                        continue
                    if r < header_rows or c == date_col:
                        row = self.rows[r]
                        while len(row) <= c:
                            row.append(None)
                        row[c] = value


def load(data: bytes, filename: str) -> list[Grid]:
    name = filename.lower()
    if name.endswith(XLSX_SUFFIXES) or data[:4] == b"PK\x03\x04":
        return _xlsx(data)
    if name.endswith(".xls"):
        raise GridError("old_xls")
    return [_csv(decode(data))]


def decode(data: bytes) -> str:
    for encoding in CSV_ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise GridError("encoding")


def _xlsx(data: bytes) -> list[Grid]:
    from openpyxl import load_workbook  # imported here: the edge install has no openpyxl

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as packed:
            unpacked = sum(info.file_size for info in packed.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise GridError("not_xlsx", detail=str(exc)[:200]) from None
    if unpacked > MAX_UNPACKED:  # a zip bomb, or not a farm's book
        raise GridError("too_large", limit=MAX_UNPACKED // 1024)
    try:
        book = load_workbook(io.BytesIO(data), data_only=True)
    except Exception as exc:  # noqa: BLE001 (openpyxl raises a dozen kinds on a malformed file; all mean "not a workbook")
        raise GridError("not_xlsx", detail=str(exc)[:200]) from None
    grids = []
    for ws in book.worksheets:
        if ws.max_row > MAX_SHEET_ROWS:
            raise GridError("too_many_rows", sheet=ws.title, rows=ws.max_row)
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        while rows and not any(c is not None and str(c).strip() for c in rows[-1]):
            rows.pop()  # formatted but empty rows under the table
        if len(rows) > MAX_ROWS:
            raise GridError("too_many_rows", sheet=ws.title, rows=len(rows))
        merges = [Merge(m.min_row - 1, m.min_col - 1, m.max_row - 1, m.max_col - 1)
                  for m in ws.merged_cells.ranges if m.min_row - 1 < len(rows)]
        grids.append(Grid(ws.title, rows, [m for m in merges if m.bottom < len(rows)]))
    return grids


def _csv(text: str) -> Grid:
    text = text.lstrip("\ufeff")
    head = text.splitlines()[:20]
    # Spreadsheet exports use ';' or tabs as often as commas: the busiest line of the top says which.
    delimiter = max((",", ";", "\t"), key=lambda d: max((line.count(d) for line in head), default=0))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[list[Any]] = []
    grid = Grid("", rows)
    try:
        for row in reader:
            rows.append(list(row))
            if len(rows) > MAX_ROWS:
                raise GridError("too_many_rows", sheet="", rows=len(rows))
    except csv.Error:  # e.g. a stray carriage return or quote mid-file: keep what came before
        grid.broken_at = reader.line_num
    return grid
