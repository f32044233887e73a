"""Rules robust to real farm records: two-day sums, next-day confirmation, each farm's own
spread, an immediate critical, and no alarm about the birds from a written-down mistake.

Pure: rule functions over in-memory histories, no database.
"""

from __future__ import annotations

import math
import random

import pytest

from cloud.alerts.model import (
    EGG_DROP,
    MORTALITY,
    RECORD_SUSPECT,
    WATER_DROP,
    DailyRecord,
    Finding,
    FlockContext,
    Severity,
)
from cloud.alerts.policy import Audience, LifecyclePolicy
from cloud.alerts.rules import NO_DATA, evaluate_flock_day
from cloud.alerts.rules.baseline import fit, learn, single, two_day
from cloud.alerts.rules.mortality import check_egg_drop
from cloud.alerts.rules.persistence import below
from cloud.alerts.rules.water import check_water_drop, check_water_surge
from cloud.alerts.thresholds import DEFAULTS
from tests.alerts.factories import day, flock

W, E, B = DEFAULTS.water, DEFAULTS.eggs, DEFAULTS.baseline


def steady(n: int, level: float = 1000.0, noise: float = 0.01, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [round(level * (1 + rng.gauss(0, noise)), 1) for _ in range(n)]


# --- learning a farm's own level and spread -------------------------------------------


def test_the_level_follows_a_growing_flock() -> None:
    # Broilers drink ~5 % more each day: the usual level today is not last week's median.
    water = [100.0 * 1.05**i for i in range(20)]
    level = learn(flock([0] * 20, water=water), day(19), single("water_l"), B)
    assert level is not None
    assert level.value == pytest.approx(water[19], rel=0.01)
    assert level.slope == pytest.approx(math.log(1.05), rel=0.01)


def test_the_spread_is_learned_per_farm() -> None:
    calm = learn(flock([0] * 30, water=steady(30, noise=0.01)), day(29), single("water_l"), B)
    wild = learn(flock([0] * 30, water=steady(30, noise=0.08)), day(29), single("water_l"), B)
    assert calm is not None and wild is not None
    assert calm.spread < 0.02 < 0.04 < wild.spread


def test_one_odd_day_moves_neither_level_nor_spread() -> None:
    points = [(t, math.log(1000.0)) for t in range(1, 15)]
    odd = list(points)
    odd[2] = (3, math.log(500.0))  # a late collection, a typo
    assert fit(odd).value == pytest.approx(fit(points).value)
    assert fit(odd).spread == pytest.approx(0.0)


def test_the_window_stops_at_an_empty_house() -> None:
    # The last flock's big birds drank 3,000 L; the new chicks' level is their own.
    water = [3000.0] * 10 + [None] * 14 + [100.0 * 1.08**i for i in range(9)]
    history = flock([0] * 33, water=water, skip=set(range(10, 24)))
    level = learn(history, day(32), single("water_l"), B)
    assert level is not None and level.points == 8
    assert level.value == pytest.approx(100.0 * 1.08**8, rel=0.02)


# --- water ------------------------------------------------------------------------------


def test_half_the_usual_water_is_critical_at_once() -> None:
    water = [*steady(14), 480.0]
    result = check_water_drop(flock([0] * 15, water=water), day(14), W)
    assert isinstance(result, Finding) and result.severity is Severity.CRITICAL


def test_a_lasting_drop_warns_on_its_second_day_not_its_first() -> None:
    water = [*steady(14), 750.0, 740.0]
    history = flock([0] * 16, water=water)
    assert check_water_drop(history, day(14), W) is None
    result = check_water_drop(history, day(15), W)
    assert isinstance(result, Finding) and result.severity is Severity.WARNING
    assert result.rule == "two_day_sum_vs_usual_2_days"


def test_a_meter_read_late_is_not_a_drop() -> None:
    # 35 % short one day, the rest on the next: the two-day sum is whole again.
    water = [*steady(14), 650.0, 1350.0, 1000.0]
    history = flock([0] * 17, water=water)
    assert [check_water_drop(history, day(d), W) for d in (14, 15, 16)] == [None] * 3


def test_the_same_drop_alarms_a_steady_house_but_not_a_noisy_one() -> None:
    def drop_on(noise: float) -> bool:
        water = [*steady(21, noise=noise, seed=7), 820.0, 820.0, 820.0]
        return isinstance(check_water_drop(flock([0] * 24, water=water), day(23), W), Finding)

    assert drop_on(0.01) is True
    assert drop_on(0.09) is False  # 18 % under is inside this free-range farm's own swings


def test_a_missing_day_does_not_break_the_confirmation() -> None:
    water = [*steady(14), 700.0, None, 700.0, 700.0]
    history = flock([0] * 18, water=water, skip={15})
    result = check_water_drop(history, day(17), W)
    assert isinstance(result, Finding) and result.severity is Severity.WARNING


def test_water_rules_need_a_learned_level() -> None:
    history = flock([0] * 4, water=[100.0, 100.0, 100.0, 60.0])
    assert check_water_drop(history, day(3), W) is NO_DATA
    assert check_water_surge(history, day(3), W) is NO_DATA


def test_back_to_normal_after_a_leak_is_not_a_drop() -> None:
    water = [*steady(14), 1800.0, 1800.0, 1010.0, 1000.0]
    history = flock([0] * 18, water=water)
    assert isinstance(check_water_surge(history, day(15), W), Finding)
    assert check_water_drop(history, day(16), W) is None
    assert check_water_drop(history, day(17), W) is None


def test_a_surge_needs_a_second_day() -> None:
    one = flock([0] * 15, water=[*steady(14), 1800.0])
    assert check_water_surge(one, day(14), W) is None
    two = flock([0] * 16, water=[*steady(14), 1800.0, 1750.0])
    result = check_water_surge(two, day(15), W)
    assert isinstance(result, Finding) and result.severity is Severity.WARNING


# --- eggs -------------------------------------------------------------------------------


def test_a_late_collection_cancels_out_in_the_two_day_sum() -> None:
    eggs = [int(v) for v in steady(14, 4000.0, 0.01)] + [2600, 5400, 4000, 4000]
    history = flock([0] * 18, eggs=eggs, birds_placed=5000)
    assert [check_egg_drop(history, day(d), E) for d in range(14, 18)] == [None] * 4
    # On the make-up day the two-day sum is whole again: nothing left to confirm.
    verdict = below(history, day(15), two_day("eggs"), E.drop_pct, B, lag=1)
    assert verdict is not None and abs(verdict.change_pct) < 2 and not verdict.out_of_line


@pytest.mark.parametrize(("down", "alerts_on"), [(3000, 1), (3350, 2)])
def test_a_lasting_egg_drop_alerts_within_two_days(down: int, alerts_on: int) -> None:
    # 25 % down: half of it shows in the first two-day sum, enough to confirm on day 1;
    # 16 % down: the first sum is 8 % short (a late collection's size), so day 2.
    eggs = [int(v) for v in steady(14, 4000.0, 0.01)] + [down] * 3
    history = flock([0] * 17, eggs=eggs, birds_placed=5000)
    results = [check_egg_drop(history, day(14 + d), E) for d in range(3)]
    first = next(d for d, r in enumerate(results) if isinstance(r, Finding))
    assert first == alerts_on
    found = results[first]
    assert isinstance(found, Finding) and found.type == EGG_DROP


def test_eggs_need_a_learned_level() -> None:
    history = flock([0] * 4, eggs=[900, 900, 900, 500])
    assert check_egg_drop(history, day(3), E) is NO_DATA


# --- mortality: a critical spike is never held for confirmation --------------------------


def test_a_one_day_two_percent_spike_is_critical_the_same_day() -> None:
    deaths = [1] * 20 + [100]
    history = flock(deaths, birds_placed=5000, water=steady(21), eggs=[4000] * 21)
    evaluation = evaluate_flock_day(history, day(20))
    found = {f.type: f for f in evaluation.findings}
    assert found[MORTALITY].severity is Severity.CRITICAL


# --- impossible values are the writer's question, not an alarm about the birds ----------


def screened(rows: list[DailyRecord], birds: int = 5000):  # type: ignore[no-untyped-def]
    from cloud.alerts.screening import screen

    return screen(FlockContext("farm-1", "h1", birds), rows)


def rows(n: int, **changes: dict[int, object]) -> list[DailyRecord]:
    water, feed = steady(n, 1000.0, 0.02, seed=3), steady(n, 500.0, 0.02, seed=4)
    eggs = [int(v) for v in steady(n, 4000.0, 0.01, seed=5)]
    out = []
    for i in range(n):
        values: dict[str, object] = {
            "day": day(i), "deaths": 1, "water_l": water[i], "feed_kg": feed[i], "eggs": eggs[i]
        }
        for name, at in changes.items():
            if i in at:
                values[name] = at[i]
        out.append(DailyRecord(**values))  # type: ignore[arg-type]
    return out


@pytest.mark.parametrize(
    ("column", "written", "reason"),
    [
        ("water_l", 10_050.0, "decimal point"),
        ("water_l", 99.8, "decimal point"),
        ("feed_kg", 5010.0, "decimal point"),
        ("eggs", 401, "decimal point"),
        ("eggs", 11_000, "more than two eggs a hen"),
        ("deaths", 6000, "more deaths than birds"),
    ],
)
def test_an_impossible_value_is_a_question_and_left_out(
    column: str, written: float, reason: str
) -> None:
    history = screened(rows(20, **{column: {18: written}}))
    (suspect,) = history.suspects[day(18)]
    assert (suspect.column, reason in suspect.reason) == (column, True)
    record = history.get(day(18))
    assert record is not None and getattr(record, column) in (None, 0)
    evaluation = evaluate_flock_day(history, day(18))
    assert [f.type for f in evaluation.findings] == [RECORD_SUSPECT]
    assert evaluation.findings[0].evidence["written"] == str(written)
    # ... and it does not become the farm's usual level either.
    level = learn(history, day(19), single("water_l"), B)
    assert level is not None and level.value == pytest.approx(1000.0, rel=0.05)


def test_swapped_columns_are_questioned_not_alarmed() -> None:
    base = rows(20)
    day18 = base[18]
    base[18] = DailyRecord(day18.day, 1, water_l=day18.feed_kg, feed_kg=day18.water_l,
                           eggs=day18.eggs)
    history = screened(base)
    assert {s.column for s in history.suspects[day(18)]} == {"water_l", "feed_kg"}
    assert [f.type for f in evaluate_flock_day(history, day(18)).findings] == [RECORD_SUSPECT]


def test_eggs_written_as_deaths_do_not_raise_a_mortality_alarm() -> None:
    base = rows(20)
    base[18] = DailyRecord(day(18), deaths=base[18].eggs or 0, water_l=base[18].water_l,
                           feed_kg=base[18].feed_kg, eggs=1)
    history = screened(base)
    assert {s.column for s in history.suspects[day(18)]} == {"deaths", "eggs"}
    kinds = [f.type for f in evaluate_flock_day(history, day(18)).findings]
    assert kinds == [RECORD_SUSPECT]


def test_two_days_in_one_row_after_a_missing_day() -> None:
    base = rows(20)
    a, b = base[17], base[18]
    base[18] = DailyRecord(b.day, a.deaths + b.deaths, water_l=(a.water_l or 0) + (b.water_l or 0),
                           feed_kg=(a.feed_kg or 0) + (b.feed_kg or 0),
                           eggs=(a.eggs or 0) + (b.eggs or 0))
    del base[17]
    history = screened(base)
    assert {s.column for s in history.suspects[day(18)]} == {"water_l", "feed_kg", "eggs"}


def test_a_heat_wave_after_a_missing_day_is_believed() -> None:
    # Water up 80 % with less feed is thirsty birds, not two days in one row.
    base = rows(20, water_l={18: 1800.0}, feed_kg={18: 400.0}, eggs={18: 3500})
    del base[17]
    history = screened(base)
    assert day(18) not in history.suspects


def test_a_blocked_water_line_is_not_taken_for_a_typo() -> None:
    history = screened(rows(20, water_l={18: 30.0}))
    assert day(18) not in history.suspects
    found = {f.type: f for f in evaluate_flock_day(history, day(18)).findings}
    assert found[WATER_DROP].severity is Severity.CRITICAL


def test_a_question_about_records_goes_to_the_farmer_only() -> None:
    steps = LifecyclePolicy().steps_for(RECORD_SUSPECT)
    assert [s.audience for s in steps] == [Audience.FARMER]


def test_the_live_worker_does_not_question_half_a_day() -> None:
    from cloud.alerts.worker import _partial_today

    # At 02:00 today's water is a tenth of a day's: not a typo, and not judged yet.
    history = screened(rows(20, water_l={19: 100.0}, deaths={19: 6000}))
    assert {s.column for s in history.suspects[day(19)]} == {"water_l", "deaths"}
    partial = _partial_today(history, day(19))
    assert [s.column for s in partial.suspects[day(19)]] == ["deaths"]


def test_unreadable_cells_become_questions_on_their_day() -> None:
    from cloud.alerts.backtest import backtest
    from cloud.alerts.records import parse_records

    lines = ["date,deaths,water_l,eggs"]
    for i in range(20):
        water = "-300" if i == 12 else "1000"
        eggs = "4409.3040" if i == 15 else "4400"
        lines.append(f"{day(i).isoformat()},1,{water},{eggs}")
    parsed = parse_records("\n".join(lines) + "\n")
    assert {d: [s.reason for s in v] for d, v in parsed.suspects.items()} == {
        day(12): ["negative"],
        day(15): ["not a whole number"],
    }
    result = backtest(parsed.records, FlockContext("f", None, 5000), noted=parsed.suspects)
    assert [(a["date"], a["type"], a["evidence"]["written"]) for a in result.alerts] == [
        (day(12).isoformat(), RECORD_SUSPECT, "-300"),
        (day(15).isoformat(), RECORD_SUSPECT, "4409.3040"),
    ]


def test_rising_deaths_that_match_a_blank_column_are_believed() -> None:
    # 500 kg of feed a day, today's feed not written yet, and 480 birds dead: an outbreak,
    # not eggs or feed written in the deaths column.
    history = screened(rows(20, deaths={18: 480}, feed_kg={18: None}, eggs={18: 4000}))
    assert day(18) not in history.suspects
    found = {f.type: f for f in evaluate_flock_day(history, day(18)).findings}
    assert found[MORTALITY].severity is Severity.CRITICAL
