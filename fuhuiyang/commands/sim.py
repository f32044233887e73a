"""`fuhuiyang sim ...`: the simulated world from the command line."""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path

import click

from fuhuiyang.lazy import LazyGroup

log = logging.getLogger(__name__)

# The camera renderer is its own module; it is loaded only when `sim frames` runs.
LAZY = {"frames": "firmware_sim.camera.cli:frames", "camera": "firmware_sim.camera.cli:camera"}


@click.group(cls=LazyGroup, lazy=LAZY)
def sim() -> None:
    """Simulated farms: flocks, scales, climate, events, devices and fleets."""


@sim.command("scale")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Output .npz (arrays); ground truth goes to OUT.visits.json.")
@click.option("--birds", type=click.IntRange(min=1), default=1000, show_default=True)
@click.option("--days", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--breed", default="ross308", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--hz", type=click.FloatRange(min=1.0, max=200.0), default=10.0, show_default=True)
@click.option("--start-day-age", type=click.IntRange(min=0), default=0, show_default=True,
              help="Flock age on the first simulated day.")
@click.option("--kind", type=click.Choice(["platform", "hanging"]), default="platform",
              show_default=True, help="Platform on the litter, or a hanging pan.")
@click.option("--json", "as_json", is_flag=True, help="Print a summary as JSON.")
def scale_cmd(out: Path, birds: int, days: int, breed: str, seed: int, hz: float,
              start_day_age: int, kind: str, as_json: bool) -> None:
    """Raw load-cell signal of a platform scale plus the true visits."""
    from collections import Counter

    from firmware_sim.breeds import BREEDS
    from firmware_sim.scale import ScaleParams, simulate_scale

    if breed not in BREEDS:
        raise click.BadParameter(f"unknown breed {breed!r}; known: {', '.join(sorted(BREEDS))}",
                                 param_hint="--breed")
    run = simulate_scale(birds, days, breed, seed=seed, hz=hz, start_day_age=start_day_age,
                         params=ScaleParams(kind=kind))
    npz, truth = run.save(out)
    summary = {
        "signal": str(npz), "truth": str(truth), "samples": int(run.ts_ms.size), "hz": hz,
        "visits": len(run.visits), "by_kind": dict(Counter(v.kind for v in run.visits)),
        "zero_offset": run.zero_offset, "counts_per_gram": run.counts_per_gram,
        "placed_on": run.placed_on.isoformat(),
    }
    click.echo(json.dumps(summary) if as_json else
               f"wrote {npz} ({summary['samples']} samples) and {truth} ({len(run.visits)} visits)")


@sim.command("run")
@click.argument("scenario")
@click.option("--days", type=click.IntRange(min=1), default=None,
              help="Days to simulate (default: the scenario's).")
@click.option("--speed", default="max", show_default=True,
              help="Simulated seconds per real second, or 'max'.")
@click.option("--seed", type=int, default=None, help="Override the scenario's seed.")
@click.option("--truth-json", "truth_json", type=click.Path(dir_okay=False, path_type=Path),
              required=True, help="Write the per-flock, per-day ground truth here (JSON list).")
@click.option("--events-json", "events_json", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Also write the event timeline per farm with exact times.")
@click.option("--json", "as_json", is_flag=True, help="Print a run summary as JSON.")
def run_cmd(scenario: str, days: int | None, speed: str, seed: int | None, truth_json: Path,
            events_json: Path | None, as_json: bool) -> None:
    """Simulate SCENARIO (a YAML path or a shipped name, e.g. demo_region)."""
    from firmware_sim.clock import parse_speed
    from firmware_sim.run import run_scenario
    from firmware_sim.scenario import load_scenario

    try:
        pace = parse_speed(speed)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--speed") from None
    try:
        loaded = load_scenario(scenario)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    result = run_scenario(loaded, days=days, speed=pace, seed=seed)
    truth_json.parent.mkdir(parents=True, exist_ok=True)
    truth_json.write_text(json.dumps(result.rows, ensure_ascii=False, indent=1), encoding="utf-8")
    if events_json is not None:
        events_json.write_text(json.dumps(result.timeline, ensure_ascii=False, indent=1), encoding="utf-8")
    summary = {
        "scenario": loaded.name, "days": result.days, "farms": result.farms,
        "rows": len(result.rows), "deaths": sum(r["deaths"] for r in result.rows),
        "wall_s": round(result.wall_s, 3), "truth": str(truth_json),
    }
    click.echo(json.dumps(summary, ensure_ascii=False) if as_json else
               f"{loaded.name}: {result.days} days, {result.farms} farms, {len(result.rows)} rows "
               f"in {result.wall_s:.1f} s -> {truth_json}")


@sim.command("devices")
@click.argument("scenario")
@click.option("--gateway", "gateway_ids", multiple=True, required=True,
              help="Gateway id (or farm id) to serve; repeat for several, or 'all'.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--modbus-port", type=click.IntRange(1, 65535), default=5020, show_default=True,
              help="Port of the first gateway; gateway k uses this + 2k.")
@click.option("--scale-port", type=click.IntRange(1, 65535), default=5021, show_default=True,
              help="Port of the first gateway's scale stream; gateway k uses this + 2k.")
@click.option("--camera-port", type=click.IntRange(1, 65535), default=None,
              help="Also serve each gateway's house camera (MJPEG); gateway k uses this + k.")
@click.option("--camera-interval-s", type=click.FloatRange(min=1.0), default=60.0, show_default=True,
              help="Event time between camera frames.")
@click.option("--scale-pty", is_flag=True,
              help="Also write the scale lines to a pseudo-terminal (a serial port for pyserial).")
@click.option("--speed", default="60", show_default=True,
              help="Simulated seconds per real second (device servers need a finite speed).")
@click.option("--start-day", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Scenario day (fractions are hours) the served clock starts at.")
@click.option("--seed", type=int, default=None)
@click.option("--hz", type=click.FloatRange(min=1.0, max=100.0), default=10.0, show_default=True)
@click.option("--gateway-config", "config_out", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="One gateway: write its gateway.yaml for the edge agent here.")
@click.option("--config-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write <gateway>.yaml for each gateway, and <gateway>.visits.jsonl truth.")
@click.option("--truth-visits", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="One gateway: append the scale's true visits here (JSON lines).")
@click.option("--alarm", "with_alarm", is_flag=True,
              help="Also serve each gateway's alarm relay/buzzer module (Modbus unit 240 on its line).")
@click.option("--modem-port", type=click.IntRange(1, 65535), default=None,
              help="Also serve each gateway's 4G modem (AT commands over TCP); gateway k uses this + k.")
@click.option("--farmer-phone", default=None, help="The number the generated configs' modem texts.")
def devices_cmd(scenario: str, gateway_ids: tuple[str, ...], host: str, modbus_port: int,
                scale_port: int, camera_port: int | None, camera_interval_s: float, scale_pty: bool, speed: str, start_day: float, seed: int | None,
                hz: float, config_out: Path | None, config_dir: Path | None,
                truth_visits: Path | None, with_alarm: bool, modem_port: int | None,
                farmer_phone: str | None) -> None:
    """Serve gateways' simulated devices (Modbus TCP + scale stream) until interrupted."""
    import asyncio

    import yaml

    from firmware_sim.alarm_devices import ALARM_UNIT, AlarmRelay, ModemSim
    from firmware_sim.clock import MS_PER_DAY, FollowingClock, parse_speed
    from firmware_sim.devices_server import open_pty, serve_many
    from firmware_sim.edge_config import gateway_config
    from firmware_sim.gateway import GatewayDevices
    from firmware_sim.scenario import load_scenario

    try:
        pace = parse_speed(speed)
        loaded = load_scenario(scenario)
        wanted = ([f.gateway for f in loaded.all_farms()] if gateway_ids == ("all",)
                  else list(gateway_ids))
        gateways = [GatewayDevices.standalone(loaded, g, seed=seed) for g in wanted]
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if pace is None:
        raise click.BadParameter("device servers need a finite speed", param_hint="--speed")
    if len(gateways) > 1 and (config_out is not None or truth_visits is not None):
        raise click.UsageError("with several gateways use --config-dir instead of "
                               "--gateway-config/--truth-visits")
    clock = FollowingClock(gateways[0].world.start_ms + int(start_day * MS_PER_DAY), pace)
    if config_dir is not None:
        config_dir.mkdir(parents=True, exist_ok=True)
    endpoints = []
    for k, gw in enumerate(gateways):
        cam_port = None if camera_port is None else camera_port + k
        ep: dict[str, object] = {"gateway": gw, "modbus_port": modbus_port + 2 * k,
                                 "scale_port": scale_port + 2 * k, "camera_port": cam_port}
        pty_path = None
        if scale_pty:
            ep["pty_master"], pty_path = open_pty()
        cfg = gateway_config(gw, host=host, modbus_port=modbus_port + 2 * k,
                             scale_port=scale_port + 2 * k, camera_port=cam_port)
        if pty_path is not None and "scale" in cfg:
            cfg["scale"].update({"transport": "serial", "serial_port": pty_path})
        alarm: dict[str, object] = {}
        if with_alarm:
            ep["alarm"] = AlarmRelay(clock)
            alarm["output"] = {"host": host, "port": modbus_port + 2 * k, "unit": ALARM_UNIT}
        if modem_port is not None:
            ep["modem"], ep["modem_port"] = ModemSim(clock), modem_port + k
            alarm["modem"] = {"enabled": True, "url": f"socket://{host}:{modem_port + k}"}
        if farmer_phone:
            alarm["farmer_phone"] = farmer_phone
        if alarm:
            cfg["alarm"] = alarm
        target = config_out if config_dir is None else config_dir / f"{gw.gateway_id}.yaml"
        if target is not None:
            target.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")
        ep["truth"] = truth_visits if config_dir is None else config_dir / f"{gw.gateway_id}.visits.jsonl"
        endpoints.append(ep)
        click.echo(f"{gw.gateway_id}: modbus {host}:{modbus_port + 2 * k}, scale {host}:{scale_port + 2 * k}"
                   + (f", scale pty {pty_path}" if pty_path else "")
                   + (f", camera http://{host}:{cam_port}/stream.mjpg" if cam_port else "")
                   + (f", alarm unit {ALARM_UNIT}" if with_alarm else "")
                   + (f", modem {host}:{modem_port + k}" if modem_port is not None else "")
                   + (f", config {target}" if target is not None else ""))
    logging.getLogger("pymodbus").setLevel(logging.WARNING)
    click.echo(f"speed {pace:g}x from scenario day {start_day:g} (Ctrl-C stops)")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_many(endpoints, clock, host=host, hz=hz, camera_interval_s=camera_interval_s))


@sim.command("fleet")
@click.argument("scenario", default="fleet")
@click.option("--mqtt", "mqtt_url", default="mqtt://127.0.0.1:1883", show_default=True,
              help="Broker to publish to (the fleet is one connection).")
@click.option("--username", default=None)
@click.option("--password-env", default="FUHUIYANG_FLEET_PASSWORD", show_default=True,
              help="Environment variable holding the password.")
@click.option("--mqtt-version", type=click.Choice(["5", "3.1.1"]), default="5", show_default=True)
@click.option("--ticks", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--interval-s", type=click.FloatRange(min=1.0), default=60.0, show_default=True,
              help="Event time between readings of every gateway.")
@click.option("--speed", default="max", show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Only the first N gateways.")
@click.option("--seed", type=int, default=None)
@click.option("--json", "as_json", is_flag=True)
def fleet_cmd(scenario: str, mqtt_url: str, username: str | None, password_env: str,
              mqtt_version: str, ticks: int, interval_s: float, speed: str, limit: int | None,
              seed: int | None, as_json: bool) -> None:
    """Drive every gateway of SCENARIO from one process and publish their telemetry over MQTT."""
    import os

    from firmware_sim.clock import parse_speed
    from firmware_sim.fleet import Fleet
    from firmware_sim.fleet_uplink import publish_fleet
    from firmware_sim.scenario import load_scenario
    from messaging.broker import BrokerAddress

    try:
        broker = BrokerAddress.parse(mqtt_url, username, os.environ.get(password_env))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--mqtt") from None
    if broker.tls:  # the fleet's publisher speaks plain MQTT only
        raise click.BadParameter(f"expected mqtt://host:port, got {mqtt_url!r}", param_hint="--mqtt")
    try:
        pace = parse_speed(speed)
        fleet = Fleet(load_scenario(scenario), seed=seed, limit=limit)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        summary = publish_fleet(fleet, host=broker.host, port=broker.port, ticks=ticks,
                                interval_s=interval_s, speed=pace, username=broker.username,
                                password=broker.password, mqtt_v5=mqtt_version == "5")
    except OSError as exc:
        raise click.ClickException(f"cannot reach the broker at {mqtt_url}: {exc}") from None
    click.echo(json.dumps(summary) if as_json else
               f"{summary['gateways']} gateways, {summary['published']} messages in {summary['wall_s']} s")


@sim.command("describe")
@click.argument("scenario")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write here instead of printing.")
def describe_cmd(scenario: str, out: Path | None) -> None:
    """The scenario's region tree, farms, flocks (placement dates) and gateways as JSON."""
    from firmware_sim.scenario import load_scenario, registry

    try:
        data = registry(load_scenario(scenario))
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    text = json.dumps(data, ensure_ascii=False, indent=1)
    if out is None:
        click.echo(text)
    else:
        out.write_text(text, encoding="utf-8")


@sim.command("records")
@click.option("--kind", type=click.Choice(["layer", "broiler", "local"]), required=True,
              help="layer (5,000 hens), broiler (Ross 308, 42-day flocks), local (yellow-feather).")
@click.option("--days", type=click.IntRange(min=1), required=True, help="Calendar days to write.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--noise", type=click.Choice(["none", "real"]), default="none", show_default=True,
              help="'real': late egg collection, missing days, swapped columns, decimal typos, "
                   "two days in one row, round numbers.")
@click.option("--event", "events", multiple=True, metavar="KIND@DAY",
              help="Inject hpai, nd, coccidiosis, eds or heat at a day index (repeatable).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="CSV in the format `alerts backtest --records` reads.")
@click.option("--truth-json", "truth_json", type=click.Path(dir_okay=False, path_type=Path),
              default=None, help="Write the true event dates and the noise applied here.")
def records_cmd(kind: str, days: int, seed: int, noise: str, events: tuple[str, ...], out: Path,
                truth_json: Path | None) -> None:
    """A farm's daily records (deaths, birds, water, feed, weighings, eggs) as a CSV."""
    from firmware_sim.record_events import parse_event
    from firmware_sim.record_noise import add_noise
    from firmware_sim.records import FARMS, cells_of, simulate, to_csv

    try:
        onsets = [parse_event(e) for e in events]
        farm = simulate(kind, days, seed, onsets)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--event") from None
    noise_truth: dict[str, list[str]] = {}
    if noise == "real":
        cells, noise_truth = add_noise(farm.rows, kind, seed)
    else:
        cells = [cells_of(r) for r in farm.rows]
    out.write_text(to_csv(cells), encoding="utf-8")
    spec = FARMS[kind]
    truth = {
        "kind": kind, "seed": seed, "days": days, "breed": spec.breed,
        "birds_placed": spec.birds, "flocks": farm.flocks, "events": farm.events,
        "noise": noise_truth,
    }
    if truth_json is not None:
        truth_json.write_text(json.dumps(truth, indent=2), encoding="utf-8")
    click.echo(f"wrote {out}: {len(cells)} rows, {len(farm.flocks)} flock(s), "
               f"{len(farm.events)} event(s)" + (f"; truth in {truth_json}" if truth_json else ""))
