"""Backtest every flock of a simulator scenario against its ground truth.

`python -m tests.alerts.measure_sim [SCENARIO] [--seed N]`: runs `fuhuiyang sim run` (the
simulator as a separate program: cloud code never imports it), backtests each flock's daily
truth, and lines the alerts up with the scenario's events.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cloud.alerts.backtest import backtest
from cloud.alerts.model import DailyRecord, FlockContext

FLOCK_EVENTS = {"hpai", "nd", "coccidiosis", "heat_wave", "ventilation_failure"}


def simulate(scenario: str, seed: int | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with tempfile.TemporaryDirectory() as tmp:
        truth, events = Path(tmp) / "truth.json", Path(tmp) / "events.json"
        script = str(Path(sys.executable).with_name("fuhuiyang"))
        cmd = [
            script,
            "sim",
            "run",
            scenario,
            "--truth-json",
            str(truth),
            "--events-json",
            str(events),
        ]
        if seed is not None:
            cmd += ["--seed", str(seed)]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        return json.loads(truth.read_text()), json.loads(events.read_text())


def flock_alerts(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_flock: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_flock[row["flock_id"]].append(row)
    out = {}
    for flock, days in by_flock.items():
        days.sort(key=lambda r: r["date"])
        first = days[0]
        placed = date.fromisoformat(first["date"]) - timedelta(days=int(first["day_age"]))
        records = [
            DailyRecord(
                day=date.fromisoformat(r["date"]),
                deaths=int(r["deaths"]),
                birds=int(r["birds_alive"]) + int(r["deaths"]),
                water_l=r.get("water_l"),
                feed_kg=r.get("feed_kg"),
                mean_weight_g=r.get("mean_weight_g"),
                uniformity_pct=r.get("uniformity_pct"),
                eggs=r.get("eggs"),
            )
            for r in days
        ]
        ctx = FlockContext(
            first["farm_id"], first["house_id"], int(first["birds_placed"]), first["breed"], placed
        )
        out[flock] = backtest(records, ctx).alerts
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", nargs="?", default="demo_region")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    rows, events = simulate(args.scenario, args.seed)
    alerts = flock_alerts(rows)
    by_farm_events: dict[str, list[tuple[str, date]]] = defaultdict(list)
    for e in events:
        if e["type"] in FLOCK_EVENTS:
            start = datetime.fromtimestamp(e["start_ms"] / 1000, UTC).date()
            by_farm_events[e["farm_id"]].append((e["type"], start))
    print(f"# {args.scenario} seed={args.seed}: {len(alerts)} flocks, {len(rows)} flock-days")
    for flock, found in sorted(alerts.items()):
        farm = flock.split("-")[0]
        evs = ", ".join(f"{t}@{d}" for t, d in by_farm_events.get(farm, []))
        summary = ", ".join(f"{a['type']}@{a['date']}({a['severity'][0]})" for a in found)
        print(f"{flock:<28} events: {evs or '-':<45} alerts: {summary or '-'}")


if __name__ == "__main__":
    main()
