"""The scheduled weekly report: each region's last full week, written to storage as CSV, XLSX, PDF and Parquet.

Run weekly by cron or a systemd timer (`fuhuiyang cloud web weekly-reports`); rerunning for the
same week rewrites the same files.
"""

from __future__ import annotations

import logging
import os
import tempfile
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import psycopg

from cloud.reports import export, service

log = logging.getLogger(__name__)


def last_full_week(today: date) -> tuple[date, date]:
    """Monday to Monday (exclusive) of the week before `today`'s week."""
    this_monday = today - timedelta(days=today.weekday())
    return this_monday - timedelta(days=7), this_monday


def write_weekly(conn: psycopg.Connection, out_dir: Path, today: date, levels: tuple[str, ...] = ("county",),
                 lang: str = "zh-CN", pdf_font: Path | None = None) -> list[Path]:
    """One set of files per region at the given levels; returns the paths written. A PDF this
    server cannot make is logged once per region and left out; the other files are written."""
    start, end = last_full_week(today)
    regions = [r[0] for r in conn.execute("SELECT id FROM regions WHERE level = ANY(%s) ORDER BY id", (list(levels),))]
    written = []
    for region_id in regions:
        report = service.report(conn, region_id, start, end)
        folder = out_dir / region_id
        folder.mkdir(parents=True, exist_ok=True)
        for ext, render in (("csv", export.to_csv), ("xlsx", export.to_xlsx),
                            ("pdf", partial(export.to_pdf, font_path=pdf_font)), ("parquet", export.to_parquet)):
            path = folder / f"{start.isoformat()}_{end.isoformat()}.{ext}"
            try:
                content = render(report, lang)
            except export.PdfUnavailable as exc:
                log.warning("weekly report for %s: no PDF (%s)", region_id, exc)
                continue
            _write_atomic(path, content)
            written.append(path)
        log.info("weekly report for %s (%s to %s) written", region_id, start, end)
    return written


def _write_atomic(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
