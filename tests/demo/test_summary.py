"""The demo's check of the detector's reports against where the simulator's dead birds lay."""

from __future__ import annotations

from fuhuiyang.demo.summary import _check_reports


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
