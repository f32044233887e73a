"""Figures for docs/results.md: `python -m tests.alerts.measure_alerts [--quick]`.

Not a test (nothing asserted); it prints the numbers the results page records.
"""

from __future__ import annotations

import argparse
import math
import random
import time
from collections import Counter
from datetime import timedelta

from cloud.alerts.backtest import backtest
from cloud.alerts.lifecycle import AlertEngine, Notify
from cloud.alerts.messages import MessageInput, place_label, render
from cloud.alerts.model import (
    ALL_TYPES,
    NH3_HIGH,
    AlertKey,
    DailyRecord,
    Finding,
    FlockContext,
    FlockHistory,
    Severity,
)
from cloud.alerts.rules.mortality import check_mortality
from cloud.alerts.thresholds import DEFAULTS
from cloud.notify.segments import count_segments
from tests.alerts.factories import T0, day, poisson


def flock_records(birds: int, days: int, seed: int, spike: int | None = None) -> list[DailyRecord]:
    rng = random.Random(seed)
    alive, out = birds, []
    for i in range(days):
        dead = math.ceil(alive * 0.02) if i == spike else poisson(rng, alive / 4000)
        out.append(DailyRecord(day(i), dead))
        alive -= dead
    return out


def false_alarms(sizes: list[int], seeds: int, days: int) -> None:
    print(f"## ordinary flocks, {days} days, 1 bird in 4,000 a day, {seeds} seeds per size")
    total_runs = total_alarm_runs = 0
    for birds in sizes:
        runs_with = alerts = 0
        for seed in range(seeds):
            result = backtest(flock_records(birds, days, seed), FlockContext("f", None, birds))
            runs_with += bool(result.alerts)
            alerts += len(result.alerts)
        total_runs += seeds
        total_alarm_runs += runs_with
        print(f"birds={birds:>6}: runs with any alert {runs_with}/{seeds}, alerts {alerts}")
    print(f"total: {total_alarm_runs}/{total_runs} runs, {total_runs * days:,} flock-days")


def spikes(sizes: list[int], seeds: int) -> None:
    print("## one-day 2 % spike on day 60 of 120")
    for birds in sizes:
        hit = 0
        for seed in range(seeds):
            records = flock_records(birds, 120, seed, spike=60)
            result = backtest(records, FlockContext("f", None, birds))
            hit += any(
                a["date"] == records[60].day.isoformat() and a["type"] == "mortality"
                for a in result.alerts
            )
        print(f"birds={birds:>6}: detected on the day {hit}/{seeds}")


def sensitivity() -> None:
    print("## smallest one-day count that raises a mortality alert, after 28 steady days")
    for birds, base in ((150, 0), (1000, 0), (4000, 1), (20_000, 5), (50_000, 12)):
        records = [DailyRecord(day(i), base) for i in range(28)]
        for dead in range(1, 2000):
            history = FlockHistory(
                FlockContext("f", None, birds), [*records, DailyRecord(day(28), dead)]
            )
            found = check_mortality(history, day(28), DEFAULTS.mortality)
            if isinstance(found, Finding):
                rules = [t["rule"] for t in found.evidence["triggers"]]
                print(
                    f"birds={birds:>6} baseline {base}/day: {dead} dead ({100 * dead / (birds - 28 * base):.2f} %) via {rules}"
                )
                break


def storm() -> None:
    engine = AlertEngine()
    key = AlertKey("farm", "1", NH3_HIGH)
    start = time.perf_counter()
    notes: list[Notify] = []
    n = 100_000
    for i in range(n):
        at = T0 + timedelta(seconds=0.6 * i)
        notes += [
            e
            for e in engine.observe(Finding(key, Severity.WARNING, at, "nh3_above", 24.0, 20.0))
            if isinstance(e, Notify)
        ]
        if i % 100 == 0:
            notes += [e for e in engine.tick(at) if isinstance(e, Notify)]
    elapsed = time.perf_counter() - start
    print("## storm")
    print(
        f"{n} triggering readings over {n * 0.6 / 3600:.1f} h: alerts {len(engine.store.active())}, "
        f"notifications {Counter(x.audience.value for x in notes)}; {n / elapsed:,.0f} observations/s"
    )


def templates() -> None:
    print("## SMS length per alert type (sample values, long farm name)")
    for lang in ("zh-CN", "en"):
        counts: Counter[int] = Counter()
        longest = 0
        for kind in ALL_TYPES:
            place = (
                place_label("李家坪鸡场", "2")
                if lang == "zh-CN"
                else place_label("Lijiaping", "2", "en")
            )
            msg = MessageInput(
                kind,
                Severity.CRITICAL,
                "too_cold",
                12.5,
                20.0,
                {
                    "deaths": 125,
                    "pct": 2.5,
                    "days": 3,
                    "mean_g": 1480,
                    "expected_g": 1783,
                    "gain_48h_g": 60,
                    "uniformity_pct": 68,
                    "band": "danger",
                    "hours": 6,
                },
                place,
                "青华镇" if lang == "zh-CN" else "Qinghua",
                "gw-0007",
            )
            seg = count_segments(render(msg, lang))
            counts[seg.count] += 1
            longest = max(longest, seg.units)
        print(f"{lang}: segments {dict(sorted(counts.items()))}, longest {longest} units")


def backtest_speed() -> None:
    records = flock_records(20_000, 600, 1)
    start = time.perf_counter()
    backtest(records, FlockContext("f", None, 20_000))
    print(f"## backtest of 600 days: {time.perf_counter() - start:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seeds = 10 if args.quick else 100
    false_alarms([120, 300, 1000, 2000, 4000, 10_000, 50_000], seeds, 600)
    spikes([150, 300, 1000, 4000, 20_000], 10 if args.quick else 50)
    sensitivity()
    storm()
    templates()
    backtest_speed()


if __name__ == "__main__":
    main()
