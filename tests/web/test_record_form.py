"""The farmer's record form: the API's own rules on the page, Chinese errors, any past day."""

from __future__ import annotations

from datetime import timedelta

from tests.api import world
from tests.api.conftest import ApiWorld
from tests.web.conftest import browser_login


def test_the_record_form_explains_bad_numbers_in_chinese_and_takes_yesterday(web: ApiWorld) -> None:
    c = browser_login(web.client, "farmer1")
    flock = world.flock("f1")
    form = c.get("/farm").text
    assert 'name="deaths" type="number" inputmode="numeric" step="1" min="0" max="1000000"' in form
    assert 'name="feed_kg" type="number" inputmode="decimal" step="any"' in form
    for deaths, expected in (("1.5", "应为 0–1000000 之间的整数"), ("-3", "之间的整数"), ("abc", "填的是 abc"),
                             ("9999999999", "之间的整数"), ("nan", "填的是 nan")):
        r = c.post("/farm/f1/records", data={"flock_id": flock, "day": str(world.TODAY), "deaths": deaths})
        assert r.status_code == 422, (deaths, r.status_code)
        assert "死亡数" in r.text and expected in r.text and "填写有误" in r.text
    r = c.post("/farm/f1/records", data={"flock_id": flock, "day": str(world.TODAY), "deaths": "400"})
    assert r.status_code == 422 and "超过了存栏" in r.text
    yesterday = world.TODAY - timedelta(days=1)
    r = c.post("/farm/f1/records", data={"flock_id": flock, "day": str(yesterday), "deaths": "0", "culls": "1"},
               follow_redirects=False)
    assert r.status_code == 303 and f"day={yesterday}" in r.headers["location"]
    page = c.get(f"/farm?farm=f1&day={yesterday}").text
    assert f'name="day" value="{yesterday}"' in page and 'name="culls" type="number"' in page
    assert 'value="1"' in page
