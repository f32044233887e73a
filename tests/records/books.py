"""A farm's record book as farms keep it, built with openpyxl, and the same days in our CSV format.

One sheet per month under a merged title, Chinese headers with units, dates written four ways
(`2026年10月4日`, `10/4` with the year from the sheet, an Excel serial, a real date cell), a day
written on two rows (morning and evening) under one merged date, a typo'd number, a missing day,
a totals row and the recorder's name at the bottom.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from openpyxl import Workbook

from cloud.records.dates import EXCEL_EPOCH

HEADERS = ["日期", "存栏(只)", "死亡(只)", "淘汰(只)", "饲料(kg)", "饮水(L)", "体重(g)", "备注"]
OUR_HEADER = "date,birds,deaths,culls,feed_kg,water_l,mean_weight_g"


@dataclass
class Day:
    day: date
    birds: int
    deaths: int
    culls: int
    feed: str  # as written: a typo stays a typo
    water: float
    weight: int | None
    split: bool = False  # written as a morning and an evening row


@dataclass
class Book:
    days: list[Day]
    missing: date
    typo: date
    spike: date
    split: date
    sheets: list[str] = field(default_factory=list)

    def xlsx(self, headers: list[str] | None = None) -> bytes:
        wb = Workbook()
        wb.remove(wb.active)
        for month in sorted({(d.day.year, d.day.month) for d in self.days}):
            name = f"{month[0]}年{month[1]}月"
            self.sheets.append(name)
            ws = wb.create_sheet(name)
            ws.append([f"李家坪鸡场 一号鸡舍 生产记录 {name}"])
            ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
            ws.append(["品种：罗斯308", None, None, "记录人：李大姐"])
            ws.merge_cells("A2:C2")
            ws.append(headers or HEADERS)
            deaths = 0
            for i, d in enumerate(x for x in self.days if (x.day.year, x.day.month) == month):
                written = _date_cell(d.day, i)
                if d.split:  # the date cell merged over a morning and an evening row
                    ws.append([written, d.birds, d.deaths - 1, d.culls, float(d.feed) / 2, d.water / 2, None, "早"])
                    ws.append([None, None, 1, 0, float(d.feed) / 2, d.water / 2, d.weight, "晚"])
                    ws.merge_cells(start_row=ws.max_row - 1, start_column=1, end_row=ws.max_row, end_column=1)
                else:
                    feed: object = float(d.feed) if _is_number(d.feed) else d.feed
                    ws.append([written, d.birds, d.deaths, d.culls, feed, d.water, d.weight, None])
                deaths += d.deaths
            ws.append(["合计", None, deaths, None, None, None, None, None])
            ws.append(["记录人：李大姐   技术员：王"])
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()

    def our_csv(self) -> str:
        """The same days in `alerts backtest`'s own CSV format (the split day as two lines)."""
        lines = [OUR_HEADER]
        for d in self.days:
            weight = "" if d.weight is None else str(d.weight)
            if d.split:
                lines.append(f"{d.day},{d.birds},{d.deaths - 1},{d.culls},{float(d.feed) / 2},{d.water / 2},")
                lines.append(f"{d.day},,1,0,{float(d.feed) / 2},{d.water / 2},{weight}")
            else:
                lines.append(f"{d.day},{d.birds},{d.deaths},{d.culls},{d.feed},{d.water},{weight}")
        return "\n".join(lines) + "\n"


def _date_cell(day: date, i: int) -> object:
    style = i % 4
    if style == 0:
        return f"{day.year}年{day.month}月{day.day}日"
    if style == 1:
        return f"{day.month}/{day.day}"  # the year comes from the sheet's name
    if style == 2:
        return (day - EXCEL_EPOCH).days  # an Excel serial in a General-formatted cell
    return datetime(day.year, day.month, day.day)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def farm_book(start: date, days: int, birds_placed: int = 1000, spike_at: int | None = None,
              feed_bump: float = 0.0) -> Book:
    """`days` days from `start`; day 9 is missing, day 14 has the typo `3O.5` for feed, day 5 is split."""
    out = []
    alive = birds_placed
    for n in range(days):
        day = start + timedelta(days=n)
        if n == 9:
            continue
        deaths = [1, 0, 2, 1, 0, 1, 1][n % 7] + (25 if n == spike_at else 0)
        culls = 1 if n % 10 == 3 else 0
        feed = round(30 + n * 0.5 + feed_bump, 1)
        out.append(Day(day, alive, deaths, culls, "3O.5" if n == 14 else str(feed), round(feed * 1.8, 1),
                       200 + 40 * n if n % 7 == 6 else None, split=n == 5))
        alive -= deaths + culls
    return Book(out, missing=start + timedelta(days=9), typo=start + timedelta(days=14),
                spike=start + timedelta(days=spike_at or 0), split=start + timedelta(days=5))
