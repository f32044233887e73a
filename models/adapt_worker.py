"""The adapt worker: takes the console's requests for a camera's own model (`adapt_requests`),
one at a time, oldest first, and settles each.

For a request it exports the camera's labelled frames from the database and the frame store (as
`models export-labels` does), adapts from them (`models.adapt`, the CLI's defaults) and
registers the model scoped to that camera in the deployment's models directory, where the
detection worker picks it for the camera's next frame. Meanwhile each stage the adaptation
reaches is written to the request, for the console. The request ends `done` with the model's
name, or `failed` with why (a set the adaptation refuses, a frame store that cannot be read).

Several workers may run: each claim is one row locked with SKIP LOCKED. A request a dead worker
left `running` is failed once it is older than twice the budget, so the camera can be asked again.
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from cloud.labels import (
    abandon_stale_requests,
    claim_request,
    label_set,
    report_request,
    settle_request,
    write_folder,
)
from models.adapt import AdaptError, AdaptSpec, Progress, Scope, adapt

log = logging.getLogger(__name__)

Adapt = Callable[[AdaptSpec, Progress], dict[str, Any]]
# What the console shows of a finished adaptation (the registry entry keeps the rest).
SHOWN = ("start", "frames", "boxes", "networks", "seconds", "date")


@dataclass(frozen=True)
class WorkerConfig:
    models_dir: Path
    minutes: float = 15.0

    @property
    def stale(self) -> timedelta:
        """How long a request may stay `running` before its worker is taken for dead."""
        return timedelta(minutes=2 * self.minutes)


def model_name(gateway_id: str, camera_id: str, request_id: int) -> str:
    """A registry name for the request's model: the camera, then the request (a newer request for
    the camera registers a newer model; the worker serves the last written)."""
    tail = f"-r{request_id}"
    camera = re.sub(r"[^a-z0-9._-]+", "-", f"{gateway_id}-{camera_id}".lower()).strip("-._") or "camera"
    return f"{camera[:64 - len(tail)]}{tail}"


def adapt_reporting(spec: AdaptSpec, report: Progress) -> dict[str, Any]:
    return adapt(spec, report=report)


def run_once(conn: psycopg.Connection, read_jpeg: Callable[[str], bytes], config: WorkerConfig,
             adapt_fn: Adapt = adapt_reporting) -> dict[str, Any] | None:
    """Settle the oldest queued request, if any; the request as it ended, or None when none waited.
    `conn` is left outside a transaction while the model trains."""
    now = datetime.now(UTC)
    if abandon_stale_requests(conn, now - config.stale, now):
        log.warning("requests left running by a stopped worker marked failed")
    request = claim_request(conn, now, config.minutes)
    conn.commit()
    if request is None:
        return None
    key = f"{request['gateway_id']}/{request['camera_id']}"
    log.info("adapt request %d: camera %s of farm %s", request["id"], key, request["farm_id"])
    name = model_name(request["gateway_id"], request["camera_id"], request["id"])
    try:
        frames = label_set(conn, request["farm_id"], request["gateway_id"], request["camera_id"])
        conn.commit()
        with tempfile.TemporaryDirectory(prefix="adapt-") as tmp:
            write_folder(frames, read_jpeg, Path(tmp))
            spec = AdaptSpec(data=Path(tmp), name=name, models_dir=config.models_dir, minutes=config.minutes,
                             scope=Scope(str(request["farm_id"]), key))
            with contextlib.redirect_stdout(sys.stderr):  # training's chatter
                result = adapt_fn(spec, _reporter(conn, request["id"]))
    except (AdaptError, OSError) as exc:
        return _settle(conn, request, error=str(exc))
    except Exception as exc:  # a worker outlives one bad request; the log keeps the traceback
        log.exception("adapt request %d failed", request["id"])
        return _settle(conn, request, error=f"{type(exc).__name__}: {exc}")
    adapted = result.get("adapted", {})
    return _settle(conn, request, model=name, result={k: adapted[k] for k in SHOWN if k in adapted})


def _reporter(conn: psycopg.Connection, request_id: int) -> Progress:
    """Writes each stage to the request at once; a stage the database does not take is only logged
    (the console misses it, the adaptation goes on)."""
    def report(progress: dict[str, Any]) -> None:
        try:
            report_request(conn, request_id, progress, datetime.now(UTC))
            conn.commit()
        except psycopg.Error as exc:
            log.warning("adapt request %d: stage %s not recorded: %s", request_id, progress.get("stage"), exc)
            with contextlib.suppress(psycopg.Error):
                conn.rollback()
        else:
            log.info("adapt request %d: %s", request_id, " ".join(f"{k}={v}" for k, v in progress.items()))
    return report


def _settle(conn: psycopg.Connection, request: dict[str, Any], *, model: str | None = None,
            result: dict[str, Any] | None = None, error: str | None = None) -> dict[str, Any]:
    conn.rollback()  # nothing half-done of this request's reads stays open
    settle_request(conn, request["id"], datetime.now(UTC), model=model, result=result, error=error)
    conn.commit()
    if error is not None:
        log.warning("adapt request %d failed: %s", request["id"], error)
    else:
        log.info("adapt request %d done: %s registered for %s/%s", request["id"], model,
                 request["gateway_id"], request["camera_id"])
    return {**request, "state": "failed" if error is not None else "done", "model": model, "result": result,
            "error": error}


def serve(connect: Callable[[], psycopg.Connection], read_jpeg: Callable[[str], bytes], config: WorkerConfig,
          poll_s: float, once: bool = False) -> int:
    """Take requests until stopped (with `once`: until none waits); how many were settled."""
    settled = 0
    with connect() as conn:
        while True:
            if run_once(conn, read_jpeg, config) is not None:
                settled += 1
                continue
            if once:
                return settled
            time.sleep(poll_s)
