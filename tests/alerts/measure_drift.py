"""Figures for docs/results.md: `python -m tests.alerts.measure_drift SCENARIO DAYS`.

Runs the NH3-against-CO2 drift rule over every farm's simulated transmitter readings (what the
gateways would send, faults included, every 30 minutes) and prints each day it would fire.
Not a test (nothing asserted).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from cloud.alerts.rules.sensor_drift import check_nh3_drift, gas_day
from cloud.alerts.thresholds import HealthThresholds
from firmware_sim.clock import MS_PER_DAY
from firmware_sim.gateway import GatewayDevices
from firmware_sim.scenario import load_scenario

STEP_MS = 1_800_000
HOUR_MS = 3_600_000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario")
    parser.add_argument("days", type=int)
    args = parser.parse_args()
    th = HealthThresholds()
    scenario = load_scenario(args.scenario)
    fired = 0
    for farm in scenario.all_farms():
        devices = GatewayDevices.standalone(scenario, farm.id)
        start = devices.world.start_ms
        hours: dict[tuple[str, int], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for k in range(args.days * MS_PER_DAY // STEP_MS):
            for r in devices.readings(start + k * STEP_MS):
                if r.value is not None and r.metric in ("nh3_ppm", "co2_ppm"):
                    hours[(r.house, (start + k * STEP_MS) // HOUR_MS)][r.metric].append(r.value)
        per_day: dict[str, dict[int, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
        for (house, hour), m in hours.items():
            if m["nh3_ppm"] and m["co2_ppm"]:
                day = (hour * HOUR_MS - start) // MS_PER_DAY
                per_day[house][day].append((sum(m["nh3_ppm"]) / len(m["nh3_ppm"]),
                                            sum(m["co2_ppm"]) / len(m["co2_ppm"])))
        for house, days in per_day.items():
            series = [gas_day(date(2026, 1, 1) + timedelta(days=d), days[d], th) for d in sorted(days)]
            for i in range(len(series)):
                evaluation = check_nh3_drift(farm.id, house, series[: i + 1], datetime.now(UTC), th)
                for finding in evaluation.findings:
                    fired += 1
                    print(f"{farm.id} {house} day {i}: ratio x{finding.value} {dict(finding.evidence)}")
    print(f"{args.scenario}, {args.days} days: {fired} house-days flagged")


if __name__ == "__main__":
    main()
