"""Simulated clock: event time in epoch milliseconds, real time or as fast as possible.

The world model only ever reads `now_ms()`; pacing against the wall clock lives here so
the same run can be watched live (speed 1), accelerated (speed 3600) or batch (max).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Protocol

MS_PER_S = 1000
MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000


class Clock(Protocol):
    def now_ms(self) -> int: ...


def parse_speed(text: str | float | None) -> float | None:
    """`max` (or None) means unpaced; otherwise a positive factor of real time."""
    if text is None:
        return None
    if isinstance(text, str):
        if text.strip().lower() == "max":
            return None
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"speed must be a positive number or 'max', got {text!r}") from None
    else:
        value = float(text)
    if not value > 0:
        raise ValueError(f"speed must be a positive number or 'max', got {text!r}")
    return value


def epoch_ms(day: date, hour: float = 0.0) -> int:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return int(start.timestamp() * MS_PER_S + hour * MS_PER_HOUR)


def to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / MS_PER_S, tz=UTC)


class SimClock:
    """Event time that advances explicitly; `speed` paces advances against a wall clock.

    `speed=None` or "max": `advance` returns immediately. With a factor, `advance(ms)`
    sleeps until the wall clock has caught up with ``ms / speed`` since the clock started,
    so pacing errors do not accumulate.
    """

    def __init__(
        self,
        start_ms: int,
        speed: float | str | None = None,
        *,
        wall: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        speed = parse_speed(speed)  # a factor, or "max"/None for unpaced
        self._start_ms = int(start_ms)
        self._now_ms = int(start_ms)
        self.speed = speed
        self._wall = wall
        self._sleep = sleep
        self._wall_start = wall()

    def now_ms(self) -> int:
        return self._now_ms

    @property
    def elapsed_ms(self) -> int:
        return self._now_ms - self._start_ms

    def advance(self, ms: int) -> int:
        if ms < 0:
            raise ValueError("simulated time does not run backwards")
        self._now_ms += int(ms)
        if self.speed is not None:
            due = self._wall_start + self.elapsed_ms / MS_PER_S / self.speed
            lag = due - self._wall()
            if lag > 0:
                self._sleep(lag)
        return self._now_ms

    def advance_to(self, ms: int) -> int:
        return self.advance(max(0, int(ms) - self._now_ms))


class FollowingClock:
    """A clock that follows wall time at `speed` × from a start, for device servers.

    Device servers answer requests at arbitrary wall moments; this maps the wall moment to
    event time without anyone calling `advance`.
    """

    def __init__(
        self, start_ms: int, speed: float, *, wall: Callable[[], float] = time.monotonic
    ) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self._start_ms = int(start_ms)
        self.speed = speed
        self._wall = wall
        self._wall_start = wall()

    def now_ms(self) -> int:
        return self._start_ms + int((self._wall() - self._wall_start) * MS_PER_S * self.speed)
