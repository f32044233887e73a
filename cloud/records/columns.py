"""Which field a column holds, from its header as farmers and programme offices write it.

Units written in the header (`饲料(kg)`, `饮水(L)`, `体重(斤)`) become a factor to our units:
feed in kg, water in litres, weight in grams.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Every field a book column may hold, in the order a preview lists them.
FIELDS = ("date", "deaths", "culls", "birds", "eggs", "feed_kg", "water_l", "mean_weight_g",
          "uniformity_pct")
IGNORE = "ignore"
INTEGER_FIELDS = frozenset({"deaths", "culls", "birds", "eggs"})

# Header words, longest first so "死淘" is not read as "死亡"'s prefix and the like.
_NAMES: dict[str, tuple[str, ...]] = {
    "date": ("日期", "时间", "date", "day"),
    "deaths": ("死亡数", "死亡", "死淘数", "死淘", "死鸡", "病死", "deaths", "dead", "mortality"),
    "culls": ("淘汰数", "淘汰", "淘鸡", "culls", "culled"),
    "birds": ("存栏数", "存栏", "存笼", "鸡只数", "birds", "stock", "population"),
    "eggs": ("产蛋数", "产蛋量", "产蛋", "蛋数", "eggs", "egg"),
    "feed_kg": ("饲料消耗", "耗料", "采食量", "采食", "喂料", "饲料", "feed"),
    "water_l": ("饮水量", "饮水", "用水", "water"),
    "mean_weight_g": ("平均体重", "均重", "体重", "weight", "bodyweight", "meanweight", "mean_weight_g"),
    "uniformity_pct": ("均匀度", "uniformity", "uniformity_pct"),
}
# Our own CSV column names are recognised exactly.
_OWN = {"feed_kg": "feed_kg", "water_l": "water_l", "mean_weight_g": "mean_weight_g"}

# unit text -> (field family, factor to our unit)
_UNITS: dict[str, tuple[str, float]] = {
    "kg": ("mass", 1.0), "公斤": ("mass", 1.0), "千克": ("mass", 1.0), "斤": ("mass", 0.5),
    "g": ("mass", 0.001), "克": ("mass", 0.001), "t": ("mass", 1000.0), "吨": ("mass", 1000.0),
    "两": ("mass", 0.05),
    "l": ("volume", 1.0), "升": ("volume", 1.0), "ml": ("volume", 0.001), "毫升": ("volume", 0.001),
    "m3": ("volume", 1000.0), "m³": ("volume", 1000.0), "立方": ("volume", 1000.0),
}
# Rates and running totals are derived figures, never a day's count: left for the user to map.
# Per-bird figures (只均, 每只) need the flock size to become a day's total: also left unmapped.
_NOT_DAILY = ("率", "累计", "%", "cumulative", "rate", "total", "只均", "每只", "perbird")
_UNIT_IN_HEADER = re.compile(r"[（(\[]\s*([^)）\]]+?)\s*[)）\]]|[/／]\s*([A-Za-z\u4e00-\u9fff³]+)\s*$")


@dataclass(frozen=True)
class Recognised:
    field: str
    factor: float = 1.0  # multiply a cell by this to get our unit
    unit: str | None = None  # the unit as written, for the preview


def normalise(header: object) -> str:
    text = unicodedata.normalize("NFKC", "" if header is None else str(header))
    return re.sub(r"\s+", "", text).strip().lower()


def recognise(header: object) -> Recognised | None:
    """The field this header names, with the factor for its unit; None when we cannot tell."""
    text = normalise(header)
    if not text:
        return None
    unit_match = _UNIT_IN_HEADER.search(text)
    unit = None
    if unit_match:
        unit = unit_match.group(1) or unit_match.group(2)
        text = (text[: unit_match.start()] + text[unit_match.end():]).strip()
    if text in _OWN:
        return Recognised(_OWN[text], 1.0, unit)
    if any(word in text for word in _NOT_DAILY):
        return None
    field = _field_of(text)
    if field is None:
        return None
    return Recognised(field, _factor(field, unit), unit)


def _field_of(text: str) -> str | None:
    for field, names in _NAMES.items():
        if text in names:
            return field
    # "每日死亡数", "日饮水量": a known name inside a longer header, longest name first.
    found = [(len(n), f) for f, names in _NAMES.items() for n in names if len(n) >= 2 and n in text]
    if not found:
        return None
    return max(found)[1]


def _factor(field: str, unit: str | None) -> float:
    if unit is None:
        return 1.0
    family, factor = _UNITS.get(unit.lower(), ("", 1.0))
    if field == "feed_kg" and family == "mass":
        return factor
    if field == "water_l" and family in ("volume", "mass"):  # a kilogram of water is a litre
        return factor
    if field == "mean_weight_g" and family == "mass":
        return factor * 1000.0
    return 1.0


def factor_for(header: object, field: str) -> tuple[float, str | None]:
    """The unit factor when the user maps this header to `field` themselves."""
    text = normalise(header)
    unit_match = _UNIT_IN_HEADER.search(text)
    unit = None if unit_match is None else (unit_match.group(1) or unit_match.group(2))
    return _factor(field, unit), unit
