"""The analysts' region table against the report page a person reads: every cell of the page's
table, as the page formats it, comes out of the DataFrame."""

from __future__ import annotations

import html
import re
from datetime import date

import pandas as pd

from cloud.api.scope import Principal, Role, resolve
from cloud.reports import dataframes as frames
from cloud.reports.rollup import COLUMNS
from tests.api.conftest import ApiWorld
from tests.web.conftest import browser_login


def page_rows(page: str) -> list[list[str]]:
    body = page.split('<table class="report">', 1)[1].split("</table>", 1)[0].split("<tbody>", 1)[1]
    rows = []
    for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, flags=re.S)
        rows.append([html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells])
    return rows


def shown(value: object) -> str:
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return "–"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def test_every_cell_of_the_report_page_is_in_the_frame(web: ApiWorld) -> None:
    c = browser_login(web.client, "tech1")
    rows = page_rows(c.get("/reports/c1?start=2026-11-21&end=2026-11-29").text)
    with web.db.connect() as conn:
        row = conn.execute("SELECT id, username, role, display_name, locale FROM users WHERE username = 'tech1'"
                           ).fetchone()
        assert row is not None
        scope = resolve(conn, Principal(row[0], row[1], Role(row[2]), row[3], row[4]))
        table = frames.region_frames(conn, scope, "c1", date(2026, 11, 21), date(2026, 11, 29)).table
    assert len(rows) == len(table) == 3
    keys = [k for k, _, _ in COLUMNS][1:]  # the first column is the name
    for cells, (_, frame_row) in zip(rows, table.iterrows(), strict=True):
        assert cells[1:] == [shown(frame_row[k]) for k in keys], frame_row["key"]
    assert [r[0] for r in rows[:-1]] == list(table["name"].iloc[:-1])  # the townships, then the total
    assert list(table["is_total"]) == [False, False, True]
