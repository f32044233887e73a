"""Figures for docs/results.md: `python -m tests.alerts.measure_records [--days N] [--seeds 1 2 3]`.

Not a test (nothing asserted). For each farm kind and seed it runs, through the real CLI,
`fuhuiyang sim records --noise real` and then `fuhuiyang alerts backtest --json`, first with
no event (days with an alert about the birds; questions about records counted apart), then
with each event the kind can have (caught = an alert raised on onset day to onset + 2).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from cloud.alerts.model import RECORD_SUSPECT
from fuhuiyang.commands.alerts import alerts
from fuhuiyang.commands.sim import sim

EVENTS = {
    "layer": ("hpai@200", "nd@300", "eds@400", "heat@540"),
    "broiler": ("hpai@120", "nd@236", "coccidiosis@300", "heat@427"),
    "local": ("hpai@150", "nd@270", "coccidiosis@390", "heat@560"),
}


def run(kind: str, days: int, seed: int, events: tuple[str, ...], work: Path,
        noise: str = "real") -> tuple[list[dict[str, Any]], dict[str, Any]]:
    csv, truth = work / f"{kind}-{seed}.csv", work / f"{kind}-{seed}.json"
    args = ["records", "--kind", kind, "--days", str(days), "--seed", str(seed),
            "--noise", noise, "--out", str(csv), "--truth-json", str(truth)]
    for e in events:
        args += ["--event", e]
    made = CliRunner().invoke(sim, args)
    assert made.exit_code == 0, made.output
    facts = json.loads(truth.read_text())
    # The farm knows its breed and when it placed each flock: ages count from each placement.
    placed = [a for f in facts["flocks"] for a in ("--placed-on", f["placed_on"])]
    done = CliRunner().invoke(
        alerts,
        ["backtest", "--records", str(csv), "--birds-placed", str(facts["birds_placed"]),
         "--breed", facts["breed"], *placed, "--json"],
    )
    assert done.exit_code == 0, done.output
    return json.loads(done.stdout), facts


def caught(found: list[dict[str, Any]], onset: str, within: int = 2) -> list[str]:
    start = date.fromisoformat(onset)
    last = start + timedelta(days=within)
    return sorted(
        {
            f"{a['type']}@{(date.fromisoformat(a['date']) - start).days}"
            for a in found
            if a["type"] != RECORD_SUSPECT and start <= date.fromisoformat(a["date"]) <= last
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--days", type=int, default=600)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--noise", choices=["real", "none"], default="real")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(f"## no event, {args.days} days, --noise {args.noise}")
        print("| kind | seed | rows | days with a bird alert | alerts by type | record_suspect |")
        print("|---|---|---|---|---|---|")
        for kind in EVENTS:
            for seed in args.seeds:
                found, facts = run(kind, args.days, seed, (), work, args.noise)
                birds = [a for a in found if a["type"] != RECORD_SUSPECT]
                by_type: dict[str, int] = {}
                for a in birds:
                    by_type[a["type"]] = by_type.get(a["type"], 0) + 1
                rows = len((work / f"{kind}-{seed}.csv").read_text().splitlines()) - 1
                print(f"| {kind} | {seed} | {rows} | {len({a['date'] for a in birds})} | "
                      f"{by_type or '-'} | {len(found) - len(birds)} |")
        print(f"\n## injected events, {args.days} days, --noise {args.noise} "
              "(caught: alert on day 0-2)")
        print("| kind | seed | event | onset | alerts within 2 days (type@day) |")
        print("|---|---|---|---|---|")
        for kind, events in EVENTS.items():
            for seed in args.seeds:
                found, facts = run(kind, args.days, seed, events, work, args.noise)
                for event in facts["events"]:
                    hits = caught(found, event["onset"])
                    later = caught(found, event["onset"], within=14)[:2]
                    shown = ", ".join(hits) or f"MISSED (within 14 days: {', '.join(later) or 'none'})"
                    print(f"| {kind} | {seed} | {event['kind']} | {event['onset']} | {shown} |")


if __name__ == "__main__":
    main()
