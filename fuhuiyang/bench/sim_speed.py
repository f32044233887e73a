"""`fuhuiyang bench sim`: how fast the simulated world runs, against real time.

Measures (1) a whole scenario region at max speed, (2) the fleet driver's readings per
second, (3) the scale signal's samples per second. Real time is the baseline: a speed-up of
86,400 means a simulated day per wall second.
"""

from __future__ import annotations

import json
import logging
import platform
import time
from typing import Any

import click

log = logging.getLogger(__name__)


def measure(scenario: str, days: int, fleet_scenario: str, fleet_ticks: int,
            scale_days: int) -> dict[str, Any]:
    from firmware_sim.clock import MS_PER_S
    from firmware_sim.fleet import Fleet
    from firmware_sim.run import run_scenario
    from firmware_sim.scale import simulate_scale
    from firmware_sim.scenario import load_scenario

    out: dict[str, Any] = {"machine": platform.machine(), "python": platform.python_version()}
    sc = load_scenario(scenario)
    result = run_scenario(sc, days=days, speed=None)
    sim_s = days * 86_400.0
    out["region"] = {
        "scenario": sc.name, "days": days, "farms": result.farms, "flock_days": len(result.rows),
        "wall_s": round(result.wall_s, 3),
        "speedup_vs_real_time": round(sim_s / result.wall_s),
        "wall_s_per_sim_day": round(result.wall_s / days, 4),
    }
    fleet_sc = load_scenario(fleet_scenario)
    started = time.perf_counter()
    fleet = Fleet(fleet_sc)
    build_s = time.perf_counter() - started
    interval_s = 60.0
    started = time.perf_counter()
    readings = 0
    for tick in fleet.ticks(interval_s=interval_s, count=fleet_ticks):
        readings += tick.readings
    tick_s = time.perf_counter() - started
    out["fleet"] = {
        "scenario": fleet_sc.name, "gateways": len(fleet), "ticks": fleet_ticks,
        "tick_interval_s": interval_s, "build_s": round(build_s, 3), "wall_s": round(tick_s, 3),
        "readings": readings, "readings_per_s": round(readings / tick_s),
        "gateway_ticks_per_s": round(len(fleet) * fleet_ticks / tick_s),
        "speedup_vs_real_time": round(fleet_ticks * interval_s * MS_PER_S / 1000.0 / tick_s, 1),
    }
    started = time.perf_counter()
    run = simulate_scale(1000, scale_days, "ross308", seed=1, start_day_age=21)
    scale_s = time.perf_counter() - started
    out["scale"] = {
        "birds": 1000, "days": scale_days, "samples": int(run.ts_ms.size), "visits": len(run.visits),
        "wall_s": round(scale_s, 3), "samples_per_s": round(run.ts_ms.size / scale_s),
        "speedup_vs_real_time": round(scale_days * 86_400 / scale_s),
    }
    return out


@click.command("sim")
@click.option("--scenario", default="demo_region", show_default=True)
@click.option("--days", type=click.IntRange(1, 365), default=30, show_default=True)
@click.option("--fleet-scenario", default="fleet", show_default=True)
@click.option("--fleet-ticks", type=click.IntRange(1, 10_000), default=30, show_default=True)
@click.option("--scale-days", type=click.IntRange(1, 30), default=2, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the default output is JSON too).")
def sim_speed(scenario: str, days: int, fleet_scenario: str, fleet_ticks: int, scale_days: int,
              as_json: bool) -> None:
    """Simulate DAYS of the demo region at max speed, drive the fleet, generate scale signal."""
    result = measure(scenario, days, fleet_scenario, fleet_ticks, scale_days)
    click.echo(json.dumps(result, indent=None if as_json else 2, ensure_ascii=False))
