"""Figures for docs/results.md: `python -m tests.records.measure_import [--days 730]`.

Not a test (nothing asserted). A farm's book of `--days` days (a sheet per month, built as in
the tests) is imported through the real CLI into a fresh schema of the local PostgreSQL
(FUHUIYANG_TEST_DATABASE_URL or postgresql://postgres@127.0.0.1:5432/test): the reader alone,
a dry run, the import, the same book again, and the book with one day corrected. Seconds are
wall clock on a shared machine; the row counts are the point.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from cloud.records import read_book
from fuhuiyang.commands.records import records
from tests.api import world
from tests.records.books import Book, farm_book
from tests.support.databases import create_schema_database, drop_schema

URL = os.environ.get("FUHUIYANG_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=730)
    args = parser.parse_args()
    start = date(2024, 11, 1)
    book = farm_book(start, args.days, birds_placed=5000)
    db = create_schema_database(URL)
    with db.connect() as conn:
        world.seed(conn)
        conn.execute("DELETE FROM daily_records WHERE flock_id = %s", (world.flock("f1"),))
        conn.execute("UPDATE flocks SET placed_on = %s, birds_placed = 5000, birds_now = NULL WHERE id = %s",
                     (start, world.flock("f1")))
    out: dict[str, Any] = {"days": args.days}
    try:
        _measure(book, db.env(), out)
    finally:
        drop_schema(URL, db.schema)
    print(json.dumps(out, ensure_ascii=False))


def _measure(book: Book, env: dict[str, str], out: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "book.xlsx"
        path.write_bytes(book.xlsx())
        out["book_kb"] = round(path.stat().st_size / 1024)
        t0 = time.perf_counter()
        read = read_book(path.read_bytes(), path.name)
        out["read"] = {"sheets": len(read.sheets), "days": len(read.days), "s": round(time.perf_counter() - t0, 2)}
        for step in ("dry_run", "import", "reimport", "corrected"):
            if step == "corrected":
                book.days[100].deaths += 1
                path.write_bytes(book.xlsx())
            t0 = time.perf_counter()
            result = CliRunner().invoke(records, ["import", "--file", str(path), "--flock", world.flock("f1"),
                                                  "--today", "2026-11-28", "--json",
                                                  *(["--dry-run"] if step == "dry_run" else [])], env=env)
            rows = json.loads(result.stdout)["rows"]
            out[step] = {**rows, "s": round(time.perf_counter() - t0, 2)}


if __name__ == "__main__":
    main()
