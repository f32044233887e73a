"""`fuhuiyang demo`: a month of a simulated county programme, end to end, in minutes."""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import time
from pathlib import Path

import click

log = logging.getLogger(__name__)


@click.command()
@click.option("--headless", is_flag=True, help="Exit when the run ends instead of serving the web app.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--days", default=30, show_default=True, type=click.IntRange(1, 42), help="Simulated days.")
@click.option("--speed", default="max", show_default=True,
              help="Simulated seconds per real second, or max.")
@click.option("--workdir", type=click.Path(path_type=Path), default=None,
              help="Where outboxes, frames and logs go (default: a new temporary folder).")
def demo(headless: bool, as_json: bool, days: int, speed: str, workdir: Path | None) -> None:
    """Run the regional demo on embedded services (or FUHUIYANG_DATABASE_URL / FUHUIYANG_MQTT_URL).

    The demo's tables go into schema fuhuiyang_demo (or FUHUIYANG_DATABASE_SCHEMA when set),
    which it drops and recreates at the start.

    Two counties, 24 farms, one edge agent per gateway, ingest, alerts and SMS into a local sink,
    the API and web app; an HPAI-like outbreak, a heat wave, ammonia, a ventilation failure,
    offline gateways and sensor faults are injected, and the summary says what was caught.
    """
    from cloud.settings import CloudSettings
    from fuhuiyang.demo.runner import run_demo
    from fuhuiyang.demo.stack import DEMO_SCHEMA, start_cloud, start_stack

    settings = CloudSettings()
    workdir = workdir or Path(tempfile.mkdtemp(prefix="fuhuiyang-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    progress(f"demo working folder: {workdir}")
    # The demo drops and recreates its schema: never `public`, where a real installation lives.
    schema = settings.database_schema if settings.database_schema != "public" else DEMO_SCHEMA
    # A broker configured explicitly is used as it is; else the demo starts its own secure one.
    mqtt_url = settings.mqtt_url if "mqtt_url" in settings.model_fields_set else None
    stack = start_stack(settings.database_url, mqtt_url, workdir, schema)
    try:
        progress(f"database: {stack.db_url.split('@')[-1]} (schema {stack.schema}); broker: {stack.broker.url}"
                 + (f" (TLS, CA {stack.ca_file}, a login per gateway)" if stack.secure else ""))
        if stack.broker_note:
            progress(f"broker: {stack.broker_note}")
        start_cloud(stack, detect=True)
        started = time.monotonic()
        summary, logins = run_demo(stack, days, speed, progress, workdir)
        summary["wall_seconds"] = round(time.monotonic() - started, 1)
        summary["web_app"] = f"http://127.0.0.1:{stack.api_port}/"
        summary["logins"] = [{"username": x.username, "password": x.password, "role": x.role, "sees": x.sees}
                             for x in logins]
        if as_json:
            click.echo(json.dumps(summary, ensure_ascii=False, indent=2))
        else:
            _print_summary(summary)
        if not headless:
            progress(f"web app at {summary['web_app']} — Ctrl-C to stop")
            while all(stack.alive(name) for name in ("api",)):
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        stack.close()


def _print_summary(summary: dict[str, object]) -> None:
    click.echo(f"\n{summary['days']} days · {summary['farms']} farms · {summary['gateways']} gateways")
    click.echo(f"readings: {summary['readings_published']:,} published, {summary['readings_stored']:,} stored")
    broker = summary["broker"]
    assert isinstance(broker, dict)
    click.echo(f"broker: TLS {'yes' if broker['tls'] else 'NO'}, anonymous login "
               f"{'ACCEPTED' if broker['anonymous'] else 'refused'}, a login per gateway "
               f"{'yes' if broker['per_gateway_credentials'] else 'NO'}"
               + (f" ({summary['broker_note']})" if summary.get("broker_note") else ""))
    alerts = summary["alerts"]
    assert isinstance(alerts, list)
    click.echo(f"alerts: {len(alerts)} · SMS sent: {summary['sms_sent']}")
    by_role: dict[str, list[int]] = {}
    for row in summary["sms_by_recipient"]:  # type: ignore[attr-defined]
        by_role.setdefault(row["role"], []).append(row["count"])
    for role, counts in sorted(by_role.items()):
        click.echo(f"  {role}: {len(counts)} phones, {sum(counts)} SMS, at most {max(counts)} each")
    click.echo(f"dead birds in camera view: {summary['dead_birds_in_view']}, "
               f"reported by the detector: {summary['carcasses_reported']} "
               f"({summary['dead_birds_reported']} reports, {summary['reports_on_a_carcass']} on a dead bird)")
    click.echo("\ninjected event → first alert that caught it (event-time delay)")
    for event, caught in zip(summary["injected"], summary["detected"], strict=True):  # type: ignore[call-overload]
        what = ("NOT DETECTED" if not caught else
                f"only {caught['alert_type']}, already open: NOT CAUGHT" if caught["already_open"] else
                f"{caught['alert_type']} ({caught['severity']}) after {caught['delay_h']} h")
        click.echo(f"  {event['start'][:16]}  {event['farm_id']:>4}  {event['label']:<28} → {what}")
    click.echo(f"\nweb app: {summary['web_app']}")
    for login in summary["logins"]:  # type: ignore[attr-defined]
        click.echo(f"  {login['role']:<14} {login['username']} / {login['password']}  ({login['sees']})")
