"""Importing a farm's book into a flock's daily records: the whole book in one transaction.

Each day goes through the one writer of daily records (`records.store_day`), so the live count
follows and a re-import of the same book changes nothing; a corrected book updates only the days
(and only the fields) that changed. A blank cell keeps what is stored. A dry run does the same
work in a transaction that is rolled back, so its counts are exactly what an import would do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import psycopg

from cloud.api import audit
from cloud.api.errors import forbidden
from cloud.api.scope import Scope, may
from cloud.api.services.catalog import get_flock
from cloud.api.services.records import DAY_FIELDS, store_day
from cloud.records import BookRead, Issue


@dataclass
class ImportResult:
    flock_id: str
    dry_run: bool
    rows_read: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    empty: int = 0  # dated rows with nothing in them
    issues: list[Issue] = field(default_factory=list)
    days: dict[str, list[str]] = field(default_factory=lambda: {"inserted": [], "updated": []})
    first_day: date | None = None
    last_day: date | None = None

    @property
    def rejected(self) -> int:
        return sum(1 for i in self.issues if i.rejected)

    def to_dict(self, book: BookRead, lang: str = "zh-CN") -> dict[str, Any]:
        return {
            "flock": self.flock_id, "dry_run": self.dry_run, "sheets": book.sheets,
            "rows": {"read": self.rows_read, "inserted": self.inserted, "updated": self.updated,
                     "unchanged": self.unchanged, "empty": self.empty, "rejected": self.rejected},
            "first_day": None if self.first_day is None else self.first_day.isoformat(),
            "last_day": None if self.last_day is None else self.last_day.isoformat(),
            "mapping": [c.to_dict() for c in book.columns],
            "errors": [i.to_dict(lang) for i in self.issues],
            "counters": dict(sorted(book.counters.items())),
        }


class _DryRun(Exception):
    """Raised inside the import's transaction to roll it back after counting."""


def import_book(conn: psycopg.Connection, scope: Scope, flock_id: str, book: BookRead, today: date,
                dry_run: bool = False) -> ImportResult:
    flock = get_flock(conn, scope, flock_id)
    if not may(scope.principal, "record_daily"):
        raise forbidden()
    entered_by = scope.principal.user_id or None  # 0: the operator at the console, no user row
    result = ImportResult(flock_id, dry_run, book.rows_read, issues=list(book.issues))
    fields = [f for f in DAY_FIELDS if f in book.fields]
    last_allowed = min(today, flock["ended_on"]) if flock["ended_on"] is not None else today
    try:
        with conn.transaction():
            for row in book.days:
                if not row.values:
                    continue  # its deaths cell was rejected: already reported
                if row.day < flock["placed_on"] or row.day > last_allowed:
                    code = "future" if row.day > today else "outside_flock"
                    result.issues.append(Issue(row.sheet, row.row, None, None, "date", row.day.isoformat(), code,
                                               "row_skipped", {"start": flock["placed_on"].isoformat()}))
                    continue
                values = {f: row.values[f] for f in fields if row.values.get(f) is not None}
                if not values:
                    result.empty += 1
                    continue
                kind = store_day(conn, flock_id, row.day, values, entered_by, source="import")
                setattr(result, kind, getattr(result, kind) + 1)
                if kind != "unchanged":
                    result.days[kind].append(row.day.isoformat())
                result.first_day = min(result.first_day or row.day, row.day)
                result.last_day = max(result.last_day or row.day, row.day)
            if result.inserted or result.updated:
                audit.record(conn, entered_by, "import", "daily_record", flock_id,
                             {"sheets": book.sheets, "inserted": result.days["inserted"],
                              "updated": result.days["updated"]})
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return result
