"""Onboarding without the API: a technician takes a farm from nothing to a provisioned gateway,
the farmer signs in to their new farm, and an administrator manages users."""

from __future__ import annotations

import re

from tests.api import world
from tests.api.conftest import ApiWorld
from tests.web.conftest import browser_login


def _location(r: object) -> str:
    location = r.headers["location"]  # type: ignore[attr-defined]
    assert isinstance(location, str)
    return location


def test_a_technician_onboards_a_farm_end_to_end(web: ApiWorld) -> None:
    c = browser_login(web.client, "tech1")
    page = c.get("/console/farms").text
    assert "永安镇" in page and "田坝村" in page and "兴隆镇" not in page  # only the technician's area
    r = c.post("/console/farms", data={"name": "张家鸡场", "township": "t1", "village": "新村", "kind": "backyard"},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    farm_url = _location(r)
    farm_id = farm_url.rsplit("/", 1)[-1]
    with web.db.connect() as conn:
        village = conn.execute("SELECT r.name, r.parent_id FROM farms f JOIN regions r ON r.id = f.region_id "
                               "WHERE f.id = %s", (farm_id,)).fetchone()
    assert village == ("新村", "t1")
    assert c.post(farm_url + "/houses", data={"name": "一号舍", "capacity": "800"}).status_code == 200
    page = c.get(farm_url).text
    house_id = re.search(r'action="/console/houses/([^/"]+)/flocks"', page)
    assert house_id is not None and "一号舍" in page
    r = c.post(f"/console/houses/{house_id.group(1)}/flocks",
               data={"breed": "yellow_feather", "placed_on": str(world.TODAY), "birds_placed": "600"})
    assert r.status_code == 200 and "黄羽肉鸡 · 600 只" in r.text
    added = c.post(farm_url + "/farmers", data={"phone": "138 0013 8000", "display_name": "张大姐"})
    password = re.search(r'id="new-farmer-password" class="secret">([^<]+)<', added.text)
    assert added.status_code == 200 and password is not None and "13800138000" in added.text
    provisioned = c.post("/console/provision", data={"farm_id": farm_id, "gateway_id": "gw-zhang"})
    assert provisioned.status_code == 200 and "gateway_id: gw-zhang" in provisioned.text
    rotated = c.post("/console/gateways/gw-zhang/rotate")
    assert rotated.status_code == 200 and 'id="new-password"' in rotated.text
    assert c.post("/console/gateways/gw-zhang/revoke").status_code == 200
    assert "已吊销" in c.get(farm_url).text

    farmer = web.client
    farmer.cookies.clear()
    login = farmer.post("/login", data={"username": "13800138000", "password": password.group(1)},
                        follow_redirects=False)
    assert login.status_code == 303
    mine = farmer.get("/farm").text
    assert "张家鸡场" in mine and "黄羽肉鸡" in mine


def test_onboarding_stays_in_the_technicians_area(web: ApiWorld) -> None:
    c = browser_login(web.client, "tech1")
    outside = c.post("/console/farms", data={"name": "外县", "township": "t3", "village": "龙凤村"})
    assert outside.status_code == 404
    assert c.post("/console/farms/f3/houses", data={"name": "x"}).status_code == 404
    assert c.post("/console/farms/f1/farmers", data={"phone": "abc"}).status_code == 422
    staff_phone = c.post("/console/farms/f1/farmers", data={"phone": "13900000001"})
    assert staff_phone.status_code == 200
    again = c.post("/console/farms/f2/farmers", data={"phone": "13900000001"})  # the same farmer, a second farm
    assert again.status_code == 200 and "已关联已有账号" in again.text
    farmer = browser_login(web.client, "farmer1")
    assert farmer.get("/console/farms").status_code == 403


def test_an_administrator_manages_users(web: ApiWorld) -> None:
    c = browser_login(web.client, "admin")
    r = c.post("/console/users", data={"username": "tech9", "password": "long-enough-9", "role": "technician",
                                       "region": "c2", "display_name": "王工"}, follow_redirects=False)
    assert r.status_code == 303
    page = c.get("/console/users").text
    assert "tech9" in page and "技术员" in page
    uid = web.ids["users"]["farmer3"]
    assert c.post(f"/console/users/{uid}/active", data={"active": "false"}, follow_redirects=False).status_code == 303
    web.client.cookies.clear()
    assert web.client.post("/login", data={"username": "farmer3", "password": world.password("farmer3")},
                           follow_redirects=False).status_code != 303
    tech = browser_login(web.client, "tech1")
    assert tech.get("/console/users").status_code == 403
