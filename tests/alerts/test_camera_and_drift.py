"""Dead-bird sightings and the NH3-against-CO2 drift check, as pure rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from cloud.alerts.model import DEAD_BIRD, SENSOR_DRIFT, DeadBirdSighting, GasDay, Severity
from cloud.alerts.rules.dead_bird import check_dead_birds
from cloud.alerts.rules.sensor_drift import check_nh3_drift, gas_day
from cloud.alerts.thresholds import CameraThresholds, HealthThresholds

AT = datetime(2026, 6, 21, 12, tzinfo=UTC)
CAM = CameraThresholds()
HEALTH = HealthThresholds()


def sighting(record_id: int, hours_ago: float, doubted: bool = False) -> DeadBirdSighting:
    return DeadBirdSighting(record_id, "f1", "h1", AT - timedelta(hours=hours_ago),
                            {"camera": "cam1", "crop": f"crops/{record_id}.jpg", "box": [1, 2, 3, 4]}, doubted)


def test_recent_sightings_make_one_finding_with_the_latest_photo() -> None:
    ev = check_dead_birds("f1", "h1", [sighting(1, 5), sighting(2, 1)], AT, CAM)
    (finding,) = ev.findings
    assert finding.key.type == DEAD_BIRD and finding.key.house == "h1"
    assert finding.value == 2 and finding.severity is Severity.WARNING
    assert finding.evidence["crop"] == "crops/2.jpg" and finding.evidence["records"] == [1, 2]
    assert finding.at == AT - timedelta(hours=1)


def test_many_carcasses_are_critical_and_old_ones_clear() -> None:
    many = [sighting(i, i) for i in range(1, CAM.dead_bird_critical_count + 1)]
    assert check_dead_birds("f1", "h1", many, AT, CAM).findings[0].severity is Severity.CRITICAL
    stale = check_dead_birds("f1", "h1", [sighting(1, CAM.dead_bird_window_hours + 1)], AT, CAM)
    assert stale.findings == [] and [k.type for k in stale.cleared] == [DEAD_BIRD]


def test_a_doubted_camera_alone_makes_a_note_and_never_a_critical() -> None:
    doubted = [sighting(i, i, doubted=True) for i in range(1, CAM.dead_bird_critical_count + 2)]
    (note,) = check_dead_birds("f1", "h1", doubted, AT, CAM).findings
    assert note.severity is Severity.INFO and note.rule == "doubted_camera"
    assert note.value == len(doubted) and note.evidence["doubted"] == len(doubted)
    # One sighting from a trusted camera makes it a warning again, with that camera's photo.
    trusted = sighting(99, 3)
    (warning,) = check_dead_birds("f1", "h1", [*doubted, trusted], AT, CAM).findings
    assert warning.severity is Severity.WARNING and warning.rule == "still_carcass"
    assert warning.evidence["crop"] == "crops/99.jpg" and warning.at == trusted.at
    assert warning.evidence["doubted"] == len(doubted) and len(warning.evidence["records"]) == len(doubted) + 1
    # The critical count is of trusted sightings only.
    enough = [sighting(100 + i, 1) for i in range(CAM.dead_bird_critical_count)]
    assert check_dead_birds("f1", "h1", [*doubted, *enough], AT, CAM).findings[0].severity is Severity.CRITICAL


def days(ratios: list[float | None], nh3: list[float]) -> list[GasDay]:
    start = date(2026, 6, 1)
    return [GasDay(start + timedelta(days=i), n, 400.0, r) for i, (r, n) in enumerate(zip(ratios, nh3, strict=True))]


def test_nh3_climbing_away_from_co2_is_a_drifting_sensor() -> None:
    series = days([3.0, 3.2, 3.1, 3.4, 3.3, 9.0, 21.0], [1.0, 1.1, 1.0, 1.2, 1.1, 3.0, 6.5])
    (finding,) = check_nh3_drift("f1", "h1", series, AT, HEALTH).findings
    assert finding.key.type == SENSOR_DRIFT and finding.key.subject == "nh3_ppm"
    assert finding.value is not None and finding.value > HEALTH.nh3_drift_ratio


def test_real_ammonia_rising_with_co2_is_not_drift() -> None:
    # Less air: NH3 triples, and so does CO2, so the ratio holds.
    series = days([3.0, 3.2, 3.1, 3.4, 3.3, 3.5, 3.6], [1.0, 1.1, 1.0, 1.2, 1.1, 3.0, 6.5])
    ev = check_nh3_drift("f1", "h1", series, AT, HEALTH)
    assert ev.findings == [] and [k.type for k in ev.cleared] == [SENSOR_DRIFT]


def test_a_ratio_jump_without_more_ammonia_is_not_drift() -> None:
    # The heater stops (less CO2): the ratio jumps but the NH3 reading does not move.
    series = days([3.0, 3.2, 3.1, 3.4, 3.3, 9.0, 12.0], [1.0, 1.1, 1.0, 1.2, 1.1, 1.2, 1.1])
    assert check_nh3_drift("f1", "h1", series, AT, HEALTH).findings == []


def test_too_little_history_or_an_empty_house_is_not_judged() -> None:
    assert check_nh3_drift("f1", "h1", days([9.0, 21.0], [3.0, 6.5]), AT, HEALTH).no_data
    empty = days([3.0, 3.2, 3.1, 3.4, 3.3, None, 21.0], [1.0, 1.1, 1.0, 1.2, 1.1, 0.1, 6.5])
    assert check_nh3_drift("f1", "h1", empty, AT, HEALTH).no_data


def test_gas_day_ratio_needs_birds_in_the_house() -> None:
    lived_in = gas_day(date(2026, 6, 1), [(2.0, 1420.0), (1.0, 920.0)], HEALTH)
    assert lived_in.nh3_per_co2 is not None and abs(lived_in.nh3_per_co2 - 2.0) < 1e-9
    empty = gas_day(date(2026, 6, 1), [(0.1, 430.0), (0.1, 440.0)], HEALTH)
    assert empty.nh3_per_co2 is None
