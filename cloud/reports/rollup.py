"""Rolling farm facts up the region tree into a report: pure functions, no database."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cloud.reports.queries import FarmFacts, ReportData

# Expected daily loss of a healthy broiler flock: about 3.5 % cumulative to day 42 in breed
# performance objectives, i.e. ~0.08 % of the birds alive per day.
EXPECTED_DAILY_MORTALITY = 0.0008


@dataclass
class Row:
    key: str
    name: str
    level: str
    farms: int = 0
    houses: int = 0
    birds: int = 0
    gateways: int = 0
    gateways_online: int = 0
    deaths: int = 0
    culls: int = 0
    bird_days: int = 0
    mortality_pct_day: float | None = None
    mortality_ratio: float | None = None  # observed / expected
    week_mortality_pct: float | None = None  # last 7 days, % of birds alive per week
    weight_mean_g: float | None = None
    weight_expected_g: float | None = None
    weight_vs_standard_pct: float | None = None
    uniformity_pct: float | None = None
    env_out_pct: float | None = None
    alerts: int = 0
    alerts_critical: int = 0
    median_ack_min: float | None = None
    sms_count: int = 0
    sms_cost: float = 0.0
    online_pct: float | None = None


@dataclass
class RegionReport:
    region: dict[str, Any]
    path: list[dict[str, Any]]
    start: date
    end: date
    total: Row
    children: list[Row]
    child_level: str
    daily: list[tuple[date, float | None]]
    weekly: list[tuple[date, float | None]]
    alerts_by_type: list[tuple[str, str, int]]
    expected_pct_day: float = 100 * EXPECTED_DAILY_MORTALITY
    notes: list[str] = field(default_factory=list)


COLUMNS = [  # (key, zh, en) for tables and exports
    ("name", "名称", "Name"), ("farms", "农场", "Farms"), ("houses", "鸡舍", "Houses"), ("birds", "存栏", "Birds"),
    ("online_pct", "网关在线 %", "Gateways online %"), ("deaths", "死亡", "Deaths"),
    ("mortality_pct_day", "日死亡率 %", "Daily mortality %"), ("mortality_ratio", "死亡率/预期", "Mortality / expected"),
    ("week_mortality_pct", "近7天死亡率 %", "Last 7 days mortality %"), ("weight_mean_g", "均重 g", "Mean weight g"),
    ("weight_vs_standard_pct", "体重/标准 %", "Weight vs standard %"), ("uniformity_pct", "均匀度 %", "Uniformity %"),
    ("env_out_pct", "环境超标天 %", "Days out of comfort %"), ("alerts", "告警", "Alerts"),
    ("alerts_critical", "严重告警", "Critical alerts"), ("median_ack_min", "确认中位时间 分", "Median time to ack min"),
    ("sms_count", "短信", "SMS"), ("sms_cost", "短信费用 元", "SMS cost CNY"),
]


def value(row: Row, key: str) -> Any:
    return getattr(row, key)


def aggregate(key: str, name: str, level: str, facts: Iterable[FarmFacts]) -> Row:
    row = Row(key, name, level)
    acks: list[float] = []
    w = [0.0, 0.0, 0.0, 0.0, 0.0]  # weight birds, weighted mean, weighted expected, uniformity, its birds
    env = [0, 0]
    deaths_recent = bird_days_recent = 0
    for f in facts:
        row.farms += 1
        row.houses += f.houses
        row.birds += f.birds
        row.gateways += f.gateways
        row.gateways_online += f.gateways_online
        row.deaths += f.deaths
        row.culls += f.culls
        row.bird_days += f.bird_days
        deaths_recent += f.deaths_recent
        bird_days_recent += f.bird_days_recent
        if f.weight_mean_g is not None and f.weight_expected_g is not None:
            w[0] += f.weight_birds
            w[1] += f.weight_birds * f.weight_mean_g
            w[2] += f.weight_birds * f.weight_expected_g
            if f.uniformity_pct is not None:
                w[3] += f.weight_birds * f.uniformity_pct
                w[4] += f.weight_birds
        env[0] += f.env_house_days
        env[1] += f.env_house_days_out
        for (_, severity), n in f.alerts.items():
            row.alerts += n
            row.alerts_critical += n if severity == "critical" else 0
        acks.extend(f.ack_seconds)
        row.sms_count += f.sms_count
        row.sms_cost += f.sms_cost
    if row.gateways:
        row.online_pct = 100.0 * row.gateways_online / row.gateways
    if row.bird_days:
        rate = row.deaths / row.bird_days
        row.mortality_pct_day = 100 * rate
        row.mortality_ratio = rate / EXPECTED_DAILY_MORTALITY
    if bird_days_recent:
        row.week_mortality_pct = weekly_pct(deaths_recent, bird_days_recent)
    if w[0]:
        row.weight_mean_g, row.weight_expected_g = w[1] / w[0], w[2] / w[0]
        row.weight_vs_standard_pct = 100 * w[1] / w[2] if w[2] else None
        row.uniformity_pct = w[3] / w[4] if w[4] else None
    if env[0]:
        row.env_out_pct = 100 * env[1] / env[0]
    if acks:
        row.median_ack_min = statistics.median(acks) / 60
    row.sms_cost = round(row.sms_cost, 4)
    return row


def weekly_pct(deaths: int, bird_days: int) -> float:
    """A week's mortality from the daily rate over recorded days, compounded: 1 - (1 - r)^7.

    Seven times a daily rate passes 100 % once a bad day kills a seventh of a flock; birds
    can only die once, so a week's share compounds and stays within [0, 100 %].
    """
    rate = min(1.0, deaths / bird_days)
    return 100 * (1 - (1 - rate) ** 7)


def build(region: dict[str, Any], regions: Sequence[dict[str, Any]], data: ReportData, start: date,
          end: date) -> RegionReport:
    """The report of `region`: its total, one row per child region (or per farm in a village)."""
    by_id = {r["id"]: r for r in regions}
    children = {r["id"]: r for r in regions if r["parent_id"] == region["id"]}
    groups: dict[str, list[FarmFacts]] = defaultdict(list)
    farm_rows: list[FarmFacts] = []
    for f in data.farms.values():
        if f.region_id == region["id"]:
            farm_rows.append(f)  # the farm sits directly in this region
            continue
        child = _child_on_path(f.region_id, region["id"], by_id)
        if child is not None:
            groups[child].append(f)
    rows = [aggregate(cid, children[cid]["name"], children[cid]["level"], groups.get(cid, []))
            for cid in sorted(children, key=lambda c: children[c]["name"])]
    rows += [aggregate(f.farm_id, f.name, "farm", [f]) for f in sorted(farm_rows, key=lambda f: f.farm_id)]
    total = aggregate(region["id"], region["name"], region["level"], data.farms.values())
    by_type: dict[tuple[str, str], int] = defaultdict(int)
    for f in data.farms.values():
        for k, n in f.alerts.items():
            by_type[k] += n
    return RegionReport(
        region=region, path=_path(region["id"], by_id), start=start, end=end, total=total, children=rows,
        child_level="farm" if not children else next(iter(children.values()))["level"],
        daily=[(d, 100 * x / a if a else None) for d, (x, a) in data.daily.items()],
        weekly=[(w, weekly_pct(x, a) if a else None) for w, (x, a) in data.weekly.items()],
        alerts_by_type=sorted(((t, s, n) for (t, s), n in by_type.items()), key=lambda x: (-x[2], x[0], x[1])),
    )


def _child_on_path(region_id: str, ancestor: str, by_id: dict[str, dict[str, Any]]) -> str | None:
    """The child of `ancestor` whose subtree holds `region_id`; None when it is not below it."""
    current: str | None = region_id
    previous: str | None = None
    while current is not None and current != ancestor:
        previous = current
        current = by_id[current]["parent_id"] if current in by_id else None
    return previous if current == ancestor else None


def _path(region_id: str, by_id: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    current: str | None = region_id
    while current is not None and current in by_id:
        out.append(by_id[current])
        current = by_id[current]["parent_id"]
    return list(reversed(out))
