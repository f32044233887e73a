"""SimClock pacing with a fake wall clock: no real sleeping in tests."""

from __future__ import annotations

import pytest

from firmware_sim.clock import MS_PER_HOUR, FollowingClock, SimClock, parse_speed


class FakeWall:
    def __init__(self) -> None:
        self.t = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t += s


def test_max_speed_never_sleeps() -> None:
    wall = FakeWall()
    clock = SimClock(1_000, None, wall=wall, sleep=wall.sleep)
    assert clock.advance(MS_PER_HOUR) == 1_000 + MS_PER_HOUR
    assert wall.slept == [] and clock.now_ms() == 1_000 + MS_PER_HOUR
    assert SimClock(0, "max").speed is None and SimClock(0, "60").speed == 60.0
    with pytest.raises(ValueError, match="speed"):
        SimClock(0, 0.0)


def test_paced_clock_sleeps_to_keep_speed_without_accumulating_error() -> None:
    wall = FakeWall()
    clock = SimClock(0, 3600.0, wall=wall, sleep=wall.sleep)
    clock.advance(MS_PER_HOUR)  # one simulated hour = one wall second at 3600x
    assert wall.slept == [pytest.approx(1.0)]
    wall.t += 0.7  # the work between advances took 0.7 s
    clock.advance(MS_PER_HOUR)
    assert wall.slept[-1] == pytest.approx(0.3)
    wall.t += 5.0  # running late: no sleep, and no attempt to run backwards
    clock.advance(MS_PER_HOUR)
    assert len(wall.slept) == 2
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_following_clock_and_speed_parsing() -> None:
    wall = FakeWall()
    clock = FollowingClock(5_000, 60.0, wall=wall)
    wall.t += 2.0
    assert clock.now_ms() == 5_000 + 120_000
    assert parse_speed("max") is None and parse_speed("60") == 60.0 and parse_speed(2) == 2.0
    for bad in ("0", "-3", "fast"):
        with pytest.raises(ValueError, match="speed"):
            parse_speed(bad)
