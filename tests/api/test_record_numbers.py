"""Numbers that are always right: the live count is derived, removals never exceed the flock,
rates stay within [0, 100 %], and bad input is a clear 422 (in Chinese for people), never a 500."""

from __future__ import annotations

import itertools
from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cloud.reports.rollup import weekly_pct
from tests.api import world
from tests.api.conftest import ApiWorld

PERIOD = {"start": str(world.TODAY - timedelta(days=40)), "end": str(world.TODAY + timedelta(days=1))}
_flock_ids = itertools.count()

# One step: (day of the flock's 40-day life, deaths, culls); re-using a day is a correction.
steps = st.lists(st.tuples(st.integers(0, 39), st.integers(0, 60), st.integers(0, 20)), min_size=1, max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(placed=st.integers(1, 80), ops=steps)
def test_live_count_and_rates_hold_under_any_records_and_corrections(api: ApiWorld, placed: int,
                                                                     ops: list[tuple[int, int, int]]) -> None:
    flock = f"prop-{next(_flock_ids)}"
    start = world.TODAY - timedelta(days=39)
    with api.db.connect() as conn:
        conn.execute("INSERT INTO flocks (id, house_id, breed, placed_on, birds_placed, birds_now) "
                     "VALUES (%s, %s, 'ross308', %s, %s, %s)", (flock, world.house("f1"), start, placed, placed))
    h = api.headers("farmer1")
    accepted: dict[int, int] = {}
    for day, deaths, culls in ops:
        r = api.client.put(f"/api/v1/flocks/{flock}/daily-records/{start + timedelta(days=day)}", headers=h,
                           json={"deaths": deaths, "culls": culls})
        others = sum(n for d, n in accepted.items() if d != day)
        if others + deaths + culls <= placed:
            assert r.status_code == 200, r.text
            accepted[day] = deaths + culls
        else:
            assert r.status_code == 422 and r.json()["error"]["details"]["alive"] == placed - others
        alive = api.client.get(f"/api/v1/flocks/{flock}", headers=h).json()["birds_now"]
        assert alive == placed - sum(accepted.values())
        assert 0 <= alive <= placed
    report = api.client.get("/api/v1/reports/regions/c1", headers=api.headers("tech1"), params=PERIOD).json()
    for row in [report["total"], *report["children"]]:
        for key in ("mortality_pct_day", "week_mortality_pct"):
            assert row[key] is None or 0 <= row[key] <= 100, (key, row[key])
    assert all(rate is None or 0 <= rate <= 100 for _, rate in report["weekly"])
    with api.db.connect() as conn:
        conn.execute("DELETE FROM daily_records WHERE flock_id = %s", (flock,))
        conn.execute("DELETE FROM flocks WHERE id = %s", (flock,))


def test_a_week_of_mortality_compounds_and_never_passes_all_the_birds() -> None:
    assert weekly_pct(0, 100) == 0
    assert abs(weekly_pct(1, 1000) - 100 * (1 - 0.999 ** 7)) < 1e-9
    assert weekly_pct(1, 2) < 100 and weekly_pct(5, 5) == 100


def test_placement_correction_recounts_and_cannot_undercut_recorded_losses(api: ApiWorld) -> None:
    flock, h = world.flock("f1"), api.headers("admin")
    assert api.client.patch(f"/api/v1/flocks/{flock}", headers=h, json={"birds_placed": 310}).json()["birds_now"] == 304
    r = api.client.patch(f"/api/v1/flocks/{flock}", headers={**h, "Accept-Language": "zh-CN"},
                         json={"birds_placed": 5})
    assert r.status_code == 422 and "少于已记录的死亡和淘汰 6 只" in r.json()["error"]["message"]
    assert api.client.patch(f"/api/v1/flocks/{flock}", headers=h, json={"birds_now": 1}).status_code == 422


def test_future_days_are_refused_and_past_days_accepted(api: ApiWorld) -> None:
    flock, h = world.flock("f1"), {**api.headers("farmer1"), "Accept-Language": "zh-CN,zh;q=0.9"}
    ahead = api.client.put(f"/api/v1/flocks/{flock}/daily-records/2099-01-01", headers=h, json={"deaths": 1})
    assert ahead.status_code == 422 and "还没到" in ahead.json()["error"]["message"]
    past = api.client.put(f"/api/v1/flocks/{flock}/daily-records/{world.TODAY - timedelta(days=10)}", headers=h,
                          json={"deaths": 1})
    assert past.status_code == 200
