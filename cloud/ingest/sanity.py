"""Physical sanity of a decoded message, judged at ingest (pure).

The wire contract only says a value is a finite number and a time lies in 2000-2100. Ingest
also refuses what cannot be true of a poultry house: a reading outside its metric's physical
range (the same `protocol.METRIC_RANGES` the gateway drops readings by) and an event time too
far ahead of the moment the cloud received it (a gateway clock in 2099 would otherwise keep
it "online" forever). The whole message is quarantined with its payload, not only the bad
rows: a genuine gateway never sends such values, so the message as a whole is suspect, and
the payload kept in quarantine loses nothing.
"""

from __future__ import annotations

import datetime as dt

from cloud.ingest.rows import Accepted, Rejection
from protocol import Frame, Telemetry, Weighing
from protocol.messages import METRIC_RANGES

DEFAULT_MAX_FUTURE_MS = 10 * 60_000


def check(item: Accepted, received_ms: int, max_future_ms: int = DEFAULT_MAX_FUTURE_MS) -> Rejection | None:
    """A `Rejection` (reason `out_of_range` or `future_ts`) for an impossible message, else None."""
    message = item.message
    if isinstance(message, Telemetry):
        for i, point in enumerate(message.points):
            low, high = METRIC_RANGES[point.metric]
            if not low <= point.value <= high:
                return item.reject("out_of_range", f"points.{i}: {point.metric.value} {point.value!r:.30} "
                                                   f"outside [{low:g}, {high:g}]")
    limit = received_ms + max_future_ms
    for where, ts in _times(message):
        if ts > limit:
            return item.reject("future_ts", f"{where} {ts} is {(ts - received_ms) / 1000:.0f} s after "
                                            f"receipt (at most {max_future_ms / 1000:.0f} s)")
    if isinstance(message, Weighing) and message.summaries:
        latest = dt.datetime.fromtimestamp(limit / 1000, dt.UTC).date() + dt.timedelta(days=1)  # any time zone
        for i, summary in enumerate(message.summaries):
            if summary.date > latest:
                return item.reject("future_ts", f"summaries.{i}.date {summary.date} is in the future")
    return None


def _times(message: object) -> list[tuple[str, int]]:
    if isinstance(message, Telemetry):
        return [("sent_at", message.sent_at), *((f"points.{i}.ts", p.ts) for i, p in enumerate(message.points))]
    if isinstance(message, Weighing):
        return [("sent_at", message.sent_at), *((f"weights.{i}.ts", w.ts) for i, w in enumerate(message.weights))]
    if isinstance(message, Frame):
        return [("meta.ts", message.meta.ts)]
    ts = getattr(message, "ts", None)
    return [("ts", ts)] if isinstance(ts, int) else []
