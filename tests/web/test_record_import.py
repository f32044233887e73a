"""Uploading a farm's book in the web app (no browser): preview, a corrected column, import, backtest,
and who may do what."""

from __future__ import annotations

import re
from datetime import date

from tests.api import world
from tests.api.conftest import ApiWorld
from tests.records.books import HEADERS, farm_book
from tests.web.conftest import browser_login

FLOCK = world.flock("f1")
# The farm calls its water column 喂水, which nothing recognises: the user says what it is.
FARM_HEADERS = [("喂水" if h == "饮水(L)" else h) for h in HEADERS]


def _book() -> bytes:
    return farm_book(date(2026, 11, 8), 20, birds_placed=300, spike_at=15).xlsx(FARM_HEADERS)


def _water(web: ApiWorld) -> list[object]:
    with web.db.connect() as conn:
        return [r[0] for r in conn.execute("SELECT water_l FROM daily_records WHERE flock_id = %s AND day < %s "
                                           "ORDER BY day", (FLOCK, date(2026, 11, 21))).fetchall()]


def test_preview_correct_import_and_backtest(web: ApiWorld) -> None:
    c = browser_login(web.client, "tech1")
    assert 'enctype="multipart/form-data"' in c.get(f"/farm/f1/import?flock={FLOCK}").text
    r = c.post("/farm/f1/import", data={"flock_id": FLOCK, "action": "preview"},
               files={"file": ("李家坪.xlsx", _book())})
    assert r.status_code == 200, r.text
    page = r.text
    # How each column was understood, with a select per column; the per-cell problem; nothing written.
    columns = re.findall(r'name="col" value="([^"]+)"', page)
    assert columns == FARM_HEADERS
    chosen = re.findall(r'<option value="(\w+)" selected>', page)
    assert chosen == ["date", "birds", "deaths", "culls", "feed_kg", "ignore", "mean_weight_g", "ignore"]
    assert "3O.5" in page and "不是数字" in page and "该格未导入" in page and "2026年11月" in page
    assert _water(web) == []
    book = re.search(r'name="book" value="([^"]+)"', page)
    assert book is not None
    form = {"flock_id": FLOCK, "book": book.group(1), "filename": "李家坪.xlsx", "sheet": "",
            "col": columns, "read_as": [*chosen[:5], "water_l", *chosen[6:]]}
    again = c.post("/farm/f1/import", data={**form, "action": "preview"}).text
    assert re.findall(r'<option value="(\w+)" selected>', again)[5] == "water_l"
    assert _water(web) == []
    done = c.post("/farm/f1/import", data={**form, "action": "import"})
    assert done.status_code == 200 and "已导入" in done.text
    assert len(_water(web)) == 12 and None not in _water(web)
    backtest = c.get(f"/farm/f1/backtest?flock={FLOCK}")
    assert f'href="/farm/f1/backtest?flock={FLOCK}"' in done.text
    assert backtest.status_code == 200 and "2026-11-23" in backtest.text and "死亡" in backtest.text


def test_who_may_upload_and_see_the_backtest(web: ApiWorld) -> None:
    c = browser_login(web.client, "farmer3")
    assert c.get("/farm/f1/import").status_code == 404
    assert c.post("/farm/f1/import", data={"flock_id": FLOCK}, files={"file": ("b.xlsx", _book())}).status_code == 404
    assert c.get(f"/farm/f1/backtest?flock={FLOCK}").status_code == 404
    c = browser_login(web.client, "staff2")  # programme staff read, never write
    assert c.get("/farm/f3/import").status_code == 403
    assert c.get(f"/farm/f3/backtest?flock={world.flock('f3')}").status_code == 200
    c = browser_login(web.client, "farmer1")
    r = c.post("/farm/f1/import", data={"flock_id": world.flock("f3")}, files={"file": ("b.xlsx", _book())})
    assert r.status_code == 404  # a flock of another farm through this farm's form
    bad = c.post("/farm/f1/import", data={"flock_id": FLOCK}, files={"file": ("b.xls", b"\xd0\xcf\x11\xe0")})
    assert bad.status_code == 422 and "另存为 .xlsx" in bad.text
    big = c.post("/farm/f1/import", data={"flock_id": FLOCK}, files={"file": ("b.csv", b"x" * 800_000)})
    assert big.status_code == 413
    tampered = c.post("/farm/f1/import", data={"flock_id": FLOCK, "book": "not base64!", "action": "import"})
    assert tampered.status_code == 422
