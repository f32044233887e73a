"""The demo's check of the detector's reports against where the simulator's dead birds lay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fuhuiyang.demo.summary import (
    AlertRow,
    _check_reports,
    critical_reach,
    first_catch,
    sms_by_recipient,
)


def test_reports_count_as_right_only_on_a_dead_bird_that_camera_showed() -> None:
    carcasses = {("gw1", "cam1"): {11: (100.0, 100.0, 160.0, 140.0), 12: (300.0, 50.0, 350.0, 90.0)},
                 ("gw2", "cam1"): {21: (0.0, 0.0, 40.0, 40.0)}}
    reports = [
        ("gw1", "cam1", [102, 98, 158, 141]),   # bird 11
        ("gw1", "cam1", [101, 101, 161, 139]),  # bird 11 again, a day later
        ("gw1", "cam1", [500, 300, 560, 340]),  # a resting bird called dead
        ("gw2", "cam1", [300, 50, 350, 90]),    # bird 12's place, but another camera
        ("gw3", "cam1", [0, 0, 40, 40]),        # a camera that showed no dead bird
    ]
    assert _check_reports(reports, carcasses) == (2, 1)
    assert _check_reports([], carcasses) == (0, 0)


# --- catch accounting ---------------------------------------------------------------------

T0 = datetime(2026, 7, 10, 6, 0, tzinfo=UTC)
TOWNSHIPS = {"F14": "C1.T1", "F18": "C1.T2"}


def _event(kind: str, farm: str = "F14", house: str | None = "H1", hours: float = 30) -> dict[str, object]:
    start = int(T0.timestamp() * 1000)
    return {"type": kind, "farm_id": farm, "house": house, "start_ms": start,
            "end_ms": start + int(hours * 3_600_000)}


def _alert(kind: str, opened_h: float, last_h: float, farm: str | None = "F14", house: str | None = "F14-H1",
           region: str | None = None, severity: str = "warning") -> AlertRow:
    opened = T0 + timedelta(hours=opened_h)
    return AlertRow(kind, severity, farm, house, region, opened, T0 + timedelta(hours=last_h), opened)


def test_an_alert_open_before_the_event_is_flagged_and_not_a_catch() -> None:
    rows = [_alert("temperature_out_of_band", -48, 10)]
    caught = first_catch(_event("ventilation_failure"), rows, TOWNSHIPS)
    assert caught is not None and caught["already_open"] is True and caught["delay_h"] == 0.0


def test_a_new_specific_alert_wins_over_one_already_open() -> None:
    rows = [_alert("temperature_out_of_band", -48, 10), _alert("nh3_high", 5.5, 20)]
    caught = first_catch(_event("ventilation_failure"), rows, TOWNSHIPS)
    assert caught is not None
    assert (caught["alert_type"], caught["already_open"], caught["delay_h"]) == ("nh3_high", False, 5.5)


def test_heat_stress_does_not_catch_a_ventilation_failure() -> None:
    rows = [_alert("heat_stress", 1, 20), _alert("humidity_out_of_range", 2, 20)]
    assert first_catch(_event("ventilation_failure"), rows, TOWNSHIPS) is None
    caught = first_catch(_event("heat_wave", house=None), rows, TOWNSHIPS)
    assert caught is not None and caught["alert_type"] == "heat_stress"


def test_the_heat_wave_alert_catches_a_heat_wave_the_summer_heat_was_already_open_for() -> None:
    """Heat stress open all week told the farmer about the summer, not the wave; the new
    heat_wave alert raised after the wave began is the catch (heat_wave is specific to it)."""
    summer = [_alert("heat_stress", -24 * 7, 40, severity="critical")]
    caught = first_catch(_event("heat_wave", house=None), summer, TOWNSHIPS)
    assert caught is not None and caught["already_open"] is True
    wave = [*summer, _alert("heat_wave", 30, 60, severity="critical")]
    caught = first_catch(_event("heat_wave", house=None), wave, TOWNSHIPS)
    assert caught is not None
    assert (caught["alert_type"], caught["already_open"], caught["delay_h"]) == ("heat_wave", False, 30.0)
    # A heat-wave alert says nothing about a ventilation failure.
    assert first_catch(_event("ventilation_failure"), wave[1:], TOWNSHIPS) is None


def test_a_house_event_is_caught_only_in_that_house() -> None:
    other_house = [_alert("co2_high", 2, 20, house="F14-H2")]
    assert first_catch(_event("ventilation_failure"), other_house, TOWNSHIPS) is None
    other_farm = [_alert("co2_high", 2, 20, farm="F18", house="F18-H1")]
    assert first_catch(_event("ventilation_failure"), other_farm, TOWNSHIPS) is None


def test_a_regional_alert_catches_an_outbreak_in_its_township_only() -> None:
    regional = [_alert("regional_outbreak", 30, 40, farm=None, house=None, region="C1.T2")]
    caught = first_catch(_event("hpai", farm="F18", house=None), regional, TOWNSHIPS)
    assert caught is not None and caught["already_open"] is False and caught["delay_h"] == 30.0
    assert first_catch(_event("hpai", farm="F14", house=None), regional, TOWNSHIPS) is None


def test_an_alert_after_the_catch_window_does_not_count() -> None:
    assert first_catch(_event("ventilation_failure"), [_alert("nh3_high", 80, 90)], TOWNSHIPS) is None


def test_sms_are_counted_per_phone_with_the_role() -> None:
    sink = [{"to": "+861", "text": "a"}, {"to": "+862", "text": "b"}, {"to": "+861", "text": "c"},
            {"to": "+869", "text": "d"}]
    roles = {"+861": "technician", "+862": "farmer"}
    assert sms_by_recipient(sink, roles) == [
        {"to": "+861", "role": "technician", "count": 2},
        {"to": "+862", "role": "farmer", "count": 1},
        {"to": "+869", "role": "unknown", "count": 1},
    ]


def test_critical_reach_counts_only_alerts_routed_to_the_farmer() -> None:
    at = T0
    rows = [("heat_stress", "F1", at, True), ("mortality", "F2", at, False),
            ("sensor_fault", "F3", at, False)]  # the technician's alone: owed to no farmer
    reach = critical_reach(rows)
    assert (reach["alerts"], reach["reached"]) == (2, 1)
    assert reach["missing"] == [{"type": "mortality", "farm_id": "F2", "event_time": at.isoformat()}]
