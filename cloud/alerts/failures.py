"""Failures of one farm's part of an alert cycle: reported, counted, logged once while they last.

A farm whose data breaks a step fails that step every cycle until someone fixes the data;
the log says so when it starts and when it ends, not once a minute in between.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import psycopg

from cloud.alerts.metrics import AlertMetrics

log = logging.getLogger(__name__)

REASON_CHARS = 200


class StepFailure(NamedTuple):
    """A step that failed for one farm ("region:<code>" for a region's alerts; None for the
    step's shared part, e.g. a batched read)."""

    step: str
    farm: str | None
    reason: str


class FailureLog:
    def __init__(self, metrics: AlertMetrics) -> None:
        self.metrics = metrics
        self._failing: set[tuple[str, str | None]] = set()
        self._seen: set[tuple[str, str | None]] = set()  # failed during the current cycle

    def start_cycle(self) -> None:
        self._seen = set()

    def record(self, step: str, farm: str | None, exc: BaseException) -> StepFailure:
        failure = StepFailure(step, farm, reason(exc))
        self.metrics.step_failures.labels(step).inc()
        where = (step, farm)
        self._seen.add(where)
        if where not in self._failing:
            self._failing.add(where)
            if isinstance(exc, psycopg.Error):  # the farm's data: the database refused it
                log.warning("alert step %s failed for farm %s: %s", step, farm, failure.reason)
            else:  # our code failed on the farm's data: a bug worth its traceback
                log.error("alert step %s failed for farm %s", step, farm, exc_info=exc)
        return failure

    def end_cycle(self) -> None:
        for step, farm in sorted(self._failing - self._seen, key=str):
            log.info("alert step %s works again for farm %s", step, farm)
        self._failing &= self._seen


def reason(exc: BaseException) -> str:
    """One line: the database's message, or the exception's type and message."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if not isinstance(exc, psycopg.Error):
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text[:REASON_CHARS]
