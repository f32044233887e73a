from __future__ import annotations

import pytest

from cloud.alerts.model import Finding, Severity
from cloud.alerts.rules import NO_DATA, binomial_sf, evaluate_flock_day
from cloud.alerts.rules.mortality import check_mortality, check_suspected_disease
from cloud.alerts.thresholds import DEFAULTS
from tests.alerts.factories import day, flock

M = DEFAULTS.mortality


def _rules(result: object) -> list[str]:
    assert isinstance(result, Finding)
    return [str(t["rule"]) for t in result.evidence["triggers"]]


@pytest.mark.parametrize(("dead", "fires"), [(2, False), (3, True)])
def test_small_flock_three_dead_in_24h(dead: int, fires: bool) -> None:
    history = flock([0] * 10 + [dead], birds_placed=80)
    result = check_mortality(history, day(10), M)
    if fires:
        assert "small_flock_24h" in _rules(result)
        assert isinstance(result, Finding) and result.severity is Severity.CRITICAL
    else:
        assert result is None


def test_small_flock_rule_stops_at_100_birds() -> None:
    # 101 birds: the percentage rule applies instead; 3 of 101 is 2.97 % > 2 %.
    history = flock([0] * 10 + [3], birds_placed=101)
    assert "pct_24h" in _rules(check_mortality(history, day(10), M))
    history = flock([0] * 10 + [3], birds_placed=100)
    assert "small_flock_24h" in _rules(check_mortality(history, day(10), M))


def test_two_percent_in_24h_edge() -> None:
    # Flock of 1000 with no earlier deaths and a high normal loss (so the ratio rule is quiet).
    below = flock([8] * 28 + [19], birds_placed=1224)  # 19 of 1000 alive: 1.9 %
    result = check_mortality(below, day(28), M)
    assert result is None or "pct_24h" not in _rules(result)
    exactly = flock([8] * 28 + [20], birds_placed=1224)  # 2.0 % exactly alerts
    assert "pct_24h" in _rules(check_mortality(exactly, day(28), M))


def test_three_of_150_is_two_percent() -> None:
    assert "pct_24h" in _rules(check_mortality(flock([0] * 10 + [3], birds_placed=150), day(10), M))


def test_consecutive_days_at_half_a_percent() -> None:
    # 5,000 birds with a high normal loss (so the ratio rule is quiet): 25/day is 0.5 %.
    base = [12] * 14
    both = flock(base + [25, 26], birds_placed=5000)
    assert "consecutive_days" in _rules(check_mortality(both, day(15), M))
    only_today = flock(base + [20, 26], birds_placed=5000)
    result = check_mortality(only_today, day(15), M)
    assert result is None or "consecutive_days" not in _rules(result)


def test_consecutive_rule_needs_both_days_recorded() -> None:
    gap = flock([12] * 14 + [30, 30], birds_placed=5000, skip={14})
    result = check_mortality(gap, day(15), M)
    assert result is None or "consecutive_days" not in _rules(result)


def test_ratio_to_previous_week_fires_on_a_real_rise() -> None:
    history = flock([4] * 28 + [20], birds_placed=20_000)  # 5x, far outside the last 4 weeks
    result = check_mortality(history, day(28), M)
    assert _rules(result) == ["ratio_to_last_week"]
    assert isinstance(result, Finding) and result.severity is Severity.WARNING


def test_ratio_needs_the_multiple() -> None:
    # Baseline 10/day for 4 weeks: 28 is 2.8x (quiet), 30 is 3.0x (fires); both are significant.
    below = flock([10] * 28 + [28], birds_placed=50_000)
    assert check_mortality(below, day(28), M) is None
    above = flock([10] * 28 + [30], birds_placed=50_000)
    assert _rules(check_mortality(above, day(28), M)) == ["ratio_to_last_week"]


def test_ratio_ignores_small_counts_that_are_just_noise() -> None:
    # One bird a day, then four: 4x the mean but a plausible day for this flock.
    history = flock([1, 0, 2, 1, 1, 0, 1] * 4 + [4], birds_placed=4000)
    assert check_mortality(history, day(28), M) is None


def test_ratio_needs_a_baseline() -> None:
    history = flock([0, 0, 30], birds_placed=20_000)
    assert check_mortality(history, day(2), M) is None


def test_missing_day_is_no_data() -> None:
    history = flock([1] * 10, skip={5})
    assert check_mortality(history, day(5), M) is NO_DATA


def test_recorded_birds_override_placed_minus_deaths() -> None:
    from cloud.alerts.model import DailyRecord, FlockContext, FlockHistory

    # Birds were sold: 60 left, and 3 dead is now the small-flock rule.
    records = [DailyRecord(day(0), 0, birds=1000), DailyRecord(day(1), 3, birds=60)]
    history = FlockHistory(FlockContext("f", None, 1000), records)
    assert "small_flock_24h" in _rules(check_mortality(history, day(1), M))


def test_binomial_tail() -> None:
    assert binomial_sf(0, 10, 0.5) == 1.0
    assert binomial_sf(11, 10, 0.5) == 0.0
    assert binomial_sf(10, 10, 0.5) == pytest.approx(0.5**10)
    assert binomial_sf(6, 10, 0.5) == pytest.approx(386 / 1024)


def test_suspected_disease_needs_mortality_and_an_intake_drop() -> None:
    deaths = [2] * 10 + [40]
    water = [300.0] * 10 + [200.0]  # -33 %
    feed = [150.0] * 11
    both = flock(deaths, water=water, feed=feed)
    mortality = check_mortality(both, day(10), M)
    result = check_suspected_disease(both, day(10), mortality, DEFAULTS.disease)
    assert isinstance(result, Finding) and result.severity is Severity.CRITICAL
    assert result.evidence["signals"][0]["signal"] == "water_l"

    no_drop = flock(deaths, water=[300.0] * 11, feed=feed)
    mortality = check_mortality(no_drop, day(10), M)
    assert check_suspected_disease(no_drop, day(10), mortality, DEFAULTS.disease) is None

    drop_only = flock([2] * 11, water=water, feed=feed)
    assert check_suspected_disease(drop_only, day(10), None, DEFAULTS.disease) is None


def test_suspected_disease_sees_a_feed_drop_the_day_before() -> None:
    deaths = [2] * 10 + [3, 40]
    feed = [150.0] * 10 + [100.0, 100.0]
    history = flock(deaths, feed=feed)
    evaluation = evaluate_flock_day(history, day(11))
    kinds = {f.type for f in evaluation.findings}
    assert {"mortality", "suspected_notifiable_disease"} <= kinds


