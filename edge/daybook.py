"""Accepted per-bird weights kept on disk until their day's summary is queued.

So a restart in the middle of a day does not shrink that day's summary to the hours after it.
"""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path


class DayBook:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS weights (day TEXT NOT NULL, ts INTEGER NOT NULL, g REAL NOT NULL)")
        self._db.execute("CREATE INDEX IF NOT EXISTS weights_day ON weights (day)")

    def add(self, day: date, ts_ms: int, g: float) -> None:
        self.add_many([(day, ts_ms, g)])

    def add_many(self, rows: list[tuple[date, int, float]]) -> None:
        """One transaction (one disk sync) per chunk of the stream, not one per bird."""
        if not rows:
            return
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO weights (day, ts, g) VALUES (?, ?, ?)",
                                 [(day.isoformat(), ts, g) for day, ts, g in rows])

    def days_before(self, today: date) -> list[date]:
        rows = self._db.execute("SELECT DISTINCT day FROM weights WHERE day < ? ORDER BY day", (today.isoformat(),))
        return [date.fromisoformat(r[0]) for r in rows]

    def weights(self, days: list[date]) -> list[tuple[int, float]]:
        out: list[tuple[int, float]] = []
        for d in days:
            out += [(int(t), float(g)) for t, g in
                    self._db.execute("SELECT ts, g FROM weights WHERE day = ? ORDER BY ts", (d.isoformat(),))]
        return out

    def forget(self, days: list[date]) -> None:
        self._db.executemany("DELETE FROM weights WHERE day = ?", [(d.isoformat(),) for d in days])

    def close(self) -> None:
        self._db.close()
