from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from cloud.alerts.thresholds import DEFAULTS, ThresholdBook, load_book


def test_defaults_follow_the_design_facts() -> None:
    assert (
        DEFAULTS.environment.nh3_warning_ppm == 20 and DEFAULTS.environment.nh3_critical_ppm == 25
    )
    assert (
        DEFAULTS.environment.co2_warning_ppm == 3000
        and DEFAULTS.environment.co2_critical_ppm == 3500
    )
    assert (DEFAULTS.environment.rh_low_pct, DEFAULTS.environment.rh_high_pct) == (50, 70)
    assert (
        DEFAULTS.mortality.small_flock_deaths_24h == 3
        and DEFAULTS.mortality.large_flock_pct_24h == 2.0
    )
    assert DEFAULTS.mortality.ratio_to_last_week == 2.9 and DEFAULTS.water.drop_pct == 25


def test_layers_override_in_order_breed_farm_house() -> None:
    book = ThresholdBook(
        base={"water": {"drop_pct": 30}},
        breeds={"yellow": {"weight": {"below_curve_warning_pct": 20}}},
        farms={"f1": {"water": {"drop_pct": 35}}},
        houses={"f1/h2": {"water": {"drop_pct": 40}, "environment": {"co2_warning_ppm": 2500}}},
    )
    assert book.resolve().water.drop_pct == 30
    assert book.resolve("yellow").weight.below_curve_warning_pct == 20
    assert book.resolve("yellow", "f1").water.drop_pct == 35
    h2 = book.resolve("yellow", "f1", "h2")
    assert (h2.water.drop_pct, h2.environment.co2_warning_ppm) == (40, 2500)
    assert h2.water.flat_days == DEFAULTS.water.flat_days  # untouched keys keep their defaults


def test_a_typo_is_an_error_at_load(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("farms:\n  f1:\n    water:\n      drop_pcnt: 30\n")
    with pytest.raises(ValueError, match="drop_pcnt"):
        load_book(path)
    with pytest.raises(ValidationError):
        ThresholdBook(base={"nope": {}}).resolve()
