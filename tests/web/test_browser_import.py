"""In a real browser: a technician uploads a farm's book, corrects one column's mapping in the
preview, imports it, and sees the backtest of the farm's history."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.api.conftest import ApiWorld
from tests.web.test_browser import check_page, login, site  # noqa: F401 (fixtures)
from tests.web.test_record_import import FARM_HEADERS, FLOCK, _book


def test_technician_imports_a_farm_book_and_sees_the_backtest(site: tuple[ApiWorld, str], browser: Any,  # noqa: F811
                                                              tmp_path: Path) -> None:
    api, url = site
    book = tmp_path / "李家坪鸡场2026.xlsx"
    book.write_bytes(_book())
    page = login(browser, url, "tech1")
    assert page.url.endswith("/console")
    page.get_by_role("link", name="农场 f1").first.click()  # the farm of a gateway in the console
    page.wait_for_load_state()
    page.get_by_role("link", name="导入记录本").click()
    page.wait_for_load_state()
    page.get_by_label("记录本文件（.xlsx 或 .csv）").set_input_files(str(book))
    page.get_by_role("button", name="预览").click()
    page.wait_for_load_state()
    # The preview: how each column was understood, and the typo'd cell with where and why.
    mapping = page.locator("#mapping tbody tr")
    assert mapping.count() == len(FARM_HEADERS)
    water = page.get_by_label("“喂水”识别为")
    assert water.input_value() == "ignore"
    assert page.get_by_label("“饲料(kg)”识别为").input_value() == "feed_kg"
    problems = page.locator("#problems").inner_text()
    assert "3O.5" in problems and "不是数字" in problems and "2026年11月" in problems
    check_page(page, "import-preview")
    # The farm's 喂水 is the water: say so, and import.
    water.select_option("water_l")
    page.get_by_role("button", name="导入").click()
    page.wait_for_load_state()
    assert "已导入" in page.get_by_role("status").inner_text()
    with api.db.connect() as conn:
        row = conn.execute("SELECT count(*), count(water_l) FROM daily_records WHERE flock_id = %s AND source = 'import'",
                           (FLOCK,)).fetchone()
    assert row == (19, 19)
    # One click to the backtest: the spike day would have alerted, and why.
    page.get_by_role("link", name="查看回测：哪些天会报警").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == f"回测 · {FLOCK}"
    rows = page.locator("#backtest tbody tr")
    spike = rows.filter(has_text="2026-11-23")
    assert spike.count() >= 1 and "死亡" in spike.first.inner_text()
    check_page(page, "import-backtest")
    assert page.goto(f"{url}/farm/f3/import").status == 404
