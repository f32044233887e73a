"""`fuhuiyang cloud ...`: the cloud processes, each runnable and scalable on its own."""

from __future__ import annotations

import logging
import socket

import click

from fuhuiyang.lazy import LazyGroup

SUBGROUPS = {"provision": "fuhuiyang.commands.provision:provision", "web": "fuhuiyang.commands.web:web"}


@click.group(cls=LazyGroup, lazy=SUBGROUPS)
def cloud() -> None:
    """Cloud services: ingest, API, gateway provisioning (settings: FUHUIYANG_* environment)."""


@cloud.command()
@click.option("--client-id", default=None,
              help="MQTT client id; keep it stable across restarts so unacked messages come back. "
                   "Default: ingest-<hostname>.")
@click.option("--group", default="ingest", show_default=True, help="Shared-subscription group.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Worker processes on the shared subscription (ids <client-id>-<n>).")
@click.option("--mqtt-v311", is_flag=True, help="Speak MQTT 3.1.1 (plain subscription, one worker).")
@click.option("--receive-maximum", default=1000, show_default=True, type=click.IntRange(1, 65535),
              help="Unacknowledged messages the broker may send us (back-pressure).")
@click.option("--batch-messages", default=500, show_default=True, type=click.IntRange(1, 100000))
@click.option("--batch-wait", "batch_wait_s", default=0.1, show_default=True, type=float,
              help="Seconds to wait filling a batch.")
@click.option("--metrics-port", default=None, type=int, help="Serve Prometheus /metrics on this port.")
@click.option("--retire", is_flag=True,
              help="Remove --client-id from the group for good: unsubscribe, write what its session "
                   "still holds, end the session (scale-down; a plain stop keeps the session).")
def ingest(client_id: str | None, group: str, workers: int, mqtt_v311: bool, receive_maximum: int,
           batch_messages: int, batch_wait_s: float, metrics_port: int | None, retire: bool) -> None:
    """Consume gateway messages from the broker into the database."""
    from cloud.ingest.worker import IngestOptions
    from cloud.settings import CloudSettings
    from fuhuiyang.processes import preflight
    from fuhuiyang.processes.ingest import run_worker, run_workers

    if mqtt_v311 and workers > 1:
        raise click.UsageError("MQTT 3.1.1 has no shared subscriptions: use one worker")
    if retire and (workers > 1 or mqtt_v311 or client_id is None):
        raise click.UsageError("--retire takes one explicit --client-id over MQTT 5")
    options = IngestOptions(
        client_id=client_id or f"ingest-{socket.gethostname()}", group=group, mqtt5=not mqtt_v311,
        receive_maximum=receive_maximum, batch_messages=batch_messages, batch_wait_s=batch_wait_s,
        metrics_port=metrics_port, retire=retire,
    )
    preflight.announce(CloudSettings(), "ingest")
    if workers == 1:
        run_worker(options)
    else:
        run_workers(options, workers, logging.getLogger().getEffectiveLevel())


@cloud.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
def api(host: str, port: int, workers: int) -> None:
    """Serve the HTTP API (FastAPI + uvicorn)."""
    import uvicorn

    from cloud.settings import CloudSettings
    from fuhuiyang.processes import preflight

    preflight.announce(CloudSettings(), "api")
    uvicorn.run("fuhuiyang.processes.api:create_app", factory=True, host=host, port=port, workers=workers)


@cloud.command()
@click.option("--client-id", default=None, help="MQTT client id (stable across restarts). Default: detect-<hostname>.")
@click.option("--group", default="detect", show_default=True, help="Shared-subscription group for frames.")
@click.option("--model", default=None, help="Model name in models/registry.json (default: the registry's default).")
@click.option("--threads", default=None, type=int, help="ONNX Runtime intra-op threads.")
@click.option("--still-minutes", default=30.0, show_default=True, type=click.FloatRange(1, 720),
              help="Minutes of lit stillness before a bird classed dead is reported.")
@click.option("--max-gap-minutes", default=20.0, show_default=True, type=click.FloatRange(1, 720),
              help="A longer gap between lit frames restarts the stillness clock (raise it for sparse cameras).")
@click.option("--mqtt-v311", is_flag=True, help="Speak MQTT 3.1.1 (plain subscription, one worker).")
@click.option("--metrics-port", default=None, type=int, help="Serve Prometheus /metrics on this port.")
def detect(client_id: str | None, group: str, model: str | None, threads: int | None,
           still_minutes: float, max_gap_minutes: float, mqtt_v311: bool, metrics_port: int | None) -> None:
    """Judge camera frames for dead birds (YOLO on ONNX Runtime + stillness over event time)."""
    from cloud.detect.stillness import StillnessConfig
    from cloud.detect.worker import DetectOptions
    from cloud.settings import CloudSettings
    from fuhuiyang.processes import preflight
    from fuhuiyang.processes.detect import run_worker

    preflight.announce(CloudSettings(), "detect")
    run_worker(DetectOptions(
        client_id=client_id or f"detect-{socket.gethostname()}", group=group, mqtt5=not mqtt_v311,
        model=model, threads=threads,
        stillness=StillnessConfig(still_span_s=still_minutes * 60, max_gap_s=max_gap_minutes * 60),
        metrics_port=metrics_port,
    ))


@cloud.command("find-text")
@click.option("--max-age-hours", default=24.0, show_default=True, type=click.FloatRange(0),
              help="Look again on cameras whose kept result is older than this (0: every camera).")
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
def find_text(max_age_hours: float, as_json: bool) -> None:
    """Look for burned-in text (the NVR's clock and camera name) on every camera's stored frames
    and keep it, so the console flags text no no-report zone covers. Run daily
    (deploy/systemd/fuhuiyang-find-text.timer)."""
    import json
    from datetime import UTC, datetime, timedelta

    from cloud.db.connection import connect
    from cloud.labels.text_zones import sweep
    from cloud.settings import CloudSettings
    from fuhuiyang.processes.resources import frame_store

    settings = CloudSettings()
    store = frame_store(settings)
    with connect(settings.database_url, settings.database_schema, autocommit=True) as conn:
        report = sweep(conn, store.read, datetime.now(UTC), timedelta(hours=max_age_hours))
    if as_json:
        click.echo(json.dumps(report.as_dict()))
        return
    click.echo(f"cameras with frames: {report.cameras}; looked at: {report.searched}; with text: "
               f"{report.with_text}; text without a no-report zone: {report.unzoned}; failed: {report.failed}")
