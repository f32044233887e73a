"""Alert rules as pure functions, one module per family.

`evaluate_flock_day` runs every daily flock rule for one day; the environment, health and
regional families have their own entry points (`check_environment`, `check_gateway`,
`check_regional`). All return an `Evaluation`: findings, keys judged clear, keys not judged.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from cloud.alerts.model import (
    EGG_DROP,
    MORTALITY,
    RECORD_SUSPECT,
    SUSPECTED_DISEASE,
    UNIFORMITY_FALLING,
    WATER_DROP,
    WATER_FLAT,
    WATER_SURGE,
    WEIGHT_BELOW_CURVE,
    WEIGHT_GAIN_SLOW,
    AlertKey,
    Finding,
    FlockHistory,
)
from cloud.alerts.rules.environment import check_environment, target_temperature
from cloud.alerts.rules.health import check_gateway
from cloud.alerts.rules.mortality import (
    binomial_sf,
    check_egg_drop,
    check_mortality,
    check_suspected_disease,
)
from cloud.alerts.rules.records import check_record
from cloud.alerts.rules.regional import check_regional
from cloud.alerts.rules.result import NO_DATA, Evaluation, RuleResult, end_of_day
from cloud.alerts.rules.water import check_water_drop, check_water_flat, check_water_surge
from cloud.alerts.rules.weight import check_below_curve, check_gain, check_uniformity
from cloud.alerts.thresholds import DEFAULTS, Thresholds
from farming.growth import ExpectedWeight, standard_curve

__all__ = [
    "NO_DATA",
    "Evaluation",
    "RuleResult",
    "check_environment",
    "check_gateway",
    "check_regional",
    "evaluate_flock_day",
    "binomial_sf",
    "target_temperature",
]


def evaluate_flock_day(
    history: FlockHistory,
    day: date,
    th: Thresholds = DEFAULTS,
    curve: ExpectedWeight | None = None,
    at: datetime | None = None,
) -> Evaluation:
    """Every daily flock rule for `day`, using only records up to and including it.

    Findings carry the end of the day as event time, or `at` when the day is judged before
    it is over (the live worker looking at today's deaths so far).
    """
    ctx = history.context
    curve = curve or standard_curve(ctx.breed)
    mortality = check_mortality(history, day, th.mortality)
    results: list[tuple[str, RuleResult]] = [
        (MORTALITY, mortality),
        (SUSPECTED_DISEASE, check_suspected_disease(history, day, mortality, th.disease)),
        (EGG_DROP, check_egg_drop(history, day, th.eggs, th.baseline)),
        (WATER_DROP, check_water_drop(history, day, th.water, th.baseline, curve)),
        (WATER_FLAT, check_water_flat(history, day, th.water, curve)),
        (WATER_SURGE, check_water_surge(history, day, th.water, th.baseline)),
        (WEIGHT_BELOW_CURVE, check_below_curve(history, day, curve, th.weight)),
        (WEIGHT_GAIN_SLOW, check_gain(history, day, th.weight)),
        (UNIFORMITY_FALLING, check_uniformity(history, day, th.weight)),
        (RECORD_SUSPECT, check_record(history, day)),
    ]
    evaluation = Evaluation(at=at or end_of_day(day))
    for kind, result in results:
        if at is not None and isinstance(result, Finding):
            result = replace(result, at=at)
        evaluation.add(AlertKey(ctx.farm, ctx.house, kind), result)
    return evaluation
