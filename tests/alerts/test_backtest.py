from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cloud.alerts.records import RecordsError, parse_records
from farming.growth import standard_curve
from farming.water import expected_intake_shape
from fuhuiyang.commands.alerts import alerts
from tests.alerts.factories import day, ordinary_csv


def _run(tmp_path: Path, text: str, *args: str) -> tuple[list[dict[str, object]], str]:
    path = tmp_path / "records.csv"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(alerts, ["backtest", "--records", str(path), *args, "--json"])
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout), result.stderr


@pytest.mark.parametrize("birds", [1000, 5000, 30_000])
def test_one_day_two_percent_spike_is_reported_on_that_date(tmp_path: Path, birds: int) -> None:
    text = ordinary_csv(birds, 120, seed=birds, spike_day=70)
    found, _ = _run(tmp_path, text, "--birds-placed", str(birds))
    on_day = [a for a in found if a["date"] == day(70).isoformat() and a["type"] == "mortality"]
    assert len(on_day) == 1, found
    assert {"date", "type", "severity"} <= set(on_day[0])
    assert [a for a in found if a["type"] == "mortality"] == on_day  # and no other


@pytest.mark.parametrize(("birds", "seed"), [(4000, 1), (4000, 2), (20_000, 3), (1000, 4)])
def test_600_ordinary_days_report_nothing(tmp_path: Path, birds: int, seed: int) -> None:
    text = ordinary_csv(birds, 600, seed=seed, with_birds=seed % 2 == 0)
    found, _ = _run(tmp_path, text, "--birds-placed", str(birds))
    assert found == []


def test_messy_records_are_reported_and_the_rest_is_used(tmp_path: Path) -> None:
    lines = ["Date,Deaths,water_l,feed_kg"]
    for i in range(30):
        if i == 12:
            continue  # a missing day
        water = "" if i == 5 else ("12o" if i == 7 else "300")
        lines.append(f"{day(i).isoformat()},{40 if i == 25 else 1},{water},150")
    lines.append("2025-02-30,1,300,150")  # no such date
    lines.append(f"{day(3).isoformat()},x,300,150")  # malformed deaths
    lines.append(f"{day(4).isoformat()},2,,")  # second entry for a day
    rows = lines[1:]
    rows.reverse()  # unsorted
    found, stderr = _run(tmp_path, "\n".join([lines[0], *rows]) + "\n", "--birds-placed", "1000")
    birds = [(a["date"], a["type"]) for a in found if a["type"] != "record_suspect"]
    assert birds == [(day(25).isoformat(), "mortality")]
    # The unreadable cells are questions for whoever wrote them, on the day they belong to.
    asked = {(a["date"], a["evidence"]["written"]) for a in found if a["type"] == "record_suspect"}
    assert asked == {(day(3).isoformat(), "x"), (day(7).isoformat(), "12o")}
    assert "'12o' not a number (cell skipped)" in stderr
    assert "'2025-02-30' not a date" in stderr
    assert "column deaths: 'x' not a number (row skipped)" in stderr
    assert "1 day(s) missing from " + day(12).isoformat() in stderr
    assert "same date as line" in stderr


def test_missing_deaths_column_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_text("date,water_l\n2025-03-01,3\n")
    result = CliRunner().invoke(
        alerts, ["backtest", "--records", str(path), "--birds-placed", "10", "--json"]
    )
    assert result.exit_code != 0
    assert "missing column(s) deaths" in result.output + result.stderr


def test_a_breed_without_a_standard_still_gets_the_other_rules(tmp_path: Path) -> None:
    text = ordinary_csv(1000, 60, seed=5, spike_day=40)
    # Local breeds have farming's Gompertz standard now; a silkie has none.
    found, stderr = _run(tmp_path, text, "--birds-placed", "1000", "--breed", "silkie")
    assert "no growth standard for breed 'silkie'" in stderr
    assert [(a["date"], a["type"]) for a in found] == [(day(40).isoformat(), "mortality")]


def test_breed_curve_and_water_rules_in_a_backtest(tmp_path: Path) -> None:
    ross = standard_curve("ross308")
    assert ross is not None
    lines = ["date,deaths,water_l,mean_weight_g"]
    for i in range(30):
        weight = 1012 * 0.7 if i == 21 else ""  # 30 % under Ross 308 on day 21
        # 3,000 birds drinking 1.8 times their growth-expected feed; day 15 at 40 %.
        water = round(3000 * 1.8 * expected_intake_shape(ross, i) / 1000 * (0.4 if i == 15 else 1.0), 1)
        lines.append(f"{day(i).isoformat()},0,{water},{weight}")
    found, _ = _run(
        tmp_path,
        "\n".join(lines) + "\n",
        "--birds-placed",
        "3000",
        "--breed",
        "ross308",
        "--placed-on",
        day(0).isoformat(),
        "--lang",
        "en",
    )
    kinds = {(a["date"], a["type"]) for a in found}
    assert (day(15).isoformat(), "water_drop") in kinds
    assert (day(21).isoformat(), "weight_below_curve") in kinds
    assert all(isinstance(a["message"], str) and a["message"] for a in found)


def test_chinese_headers_and_slash_dates() -> None:
    parsed = parse_records("\ufeff日期,死亡,饮水\n2025/3/1,2,300\n2025-03-02 00:00:00,,310\n")
    assert [r.deaths for r in parsed.records] == [2, 0]
    assert parsed.records[1].water_l == 310.0
    assert parsed.counters["blank_deaths_read_as_zero"] == 1


def test_empty_or_useless_files() -> None:
    with pytest.raises(RecordsError, match="empty"):
        parse_records("")
    with pytest.raises(RecordsError, match="no usable rows"):
        parse_records("date,deaths\nyesterday,1\n")


def test_farm_growth_curve_from_a_previous_flock(tmp_path: Path) -> None:
    from farming.growth import Gompertz

    local = Gompertz(a=1900.0, k=0.032, ti=50.0)  # a slow local breed, no standard table
    previous = ["date,deaths,mean_weight_g"] + [
        f"{day(i).isoformat()},0,{local(i):.0f}" for i in range(0, 120, 5)
    ]
    (tmp_path / "previous.csv").write_text("\n".join(previous) + "\n")
    current = ["date,deaths,mean_weight_g"]
    for i in range(0, 100):
        weight = local(i) * (0.75 if i == 80 else 1.0)  # one weighing 25 % below the farm's curve
        current.append(f"{day(i).isoformat()},0,{weight:.0f}")
    found, stderr = _run(
        tmp_path,
        "\n".join(current) + "\n",
        "--birds-placed",
        "500",
        "--growth-from",
        str(tmp_path / "previous.csv"),
        "--placed-on",
        day(0).isoformat(),
    )
    assert "farm growth curve A=19" in stderr
    below = [a for a in found if a["type"] == "weight_below_curve"]
    assert [a["date"] for a in below] == [day(80).isoformat()]


def test_placement_is_estimated_from_weights_never_guessed(tmp_path: Path) -> None:
    # Flat water for 600 days of an adult flock: with --breed but no date, no age-based alert.
    lines = ["date,deaths,water_l"] + [f"{day(i).isoformat()},0,300" for i in range(600)]
    found, stderr = _run(
        tmp_path, "\n".join(lines) + "\n", "--birds-placed", "2000", "--breed", "ross308"
    )
    assert found == [] and "age unknown" in stderr
    # Weights of a 14-day-old Ross 308 flock: placement is 14 days before the first record.
    lines = ["date,deaths,mean_weight_g"] + [
        f"{day(i).isoformat()},0,{533 + 60 * i}" for i in range(5)
    ]
    found, stderr = _run(
        tmp_path, "\n".join(lines) + "\n", "--birds-placed", "2000", "--breed", "ross308"
    )
    assert (
        f"estimated from the first weighing and the ross308 curve: {day(-14).isoformat()}" in stderr
    )


def test_semicolon_and_tab_separated_files() -> None:
    for sep in (";", "\t"):
        parsed = parse_records(f"date{sep}deaths{sep}water_l\n2025-03-01{sep}2{sep}300\n")
        assert parsed.records[0].deaths == 2 and parsed.records[0].water_l == 300.0


def test_a_broken_line_keeps_what_came_before() -> None:
    # An unterminated quote swallows the rest of the file into one cell: that row is
    # reported and skipped; the rows before it are kept; stray carriage returns are line ends.
    parsed = parse_records('date,deaths\n2025-03-01,1\n2025-03-02,"2\n2025-03-03,3\n')
    assert [r.deaths for r in parsed.records] == [1]
    assert any("not a number (row skipped)" in str(p) for p in parsed.problems)
    parsed = parse_records("date,deaths\r\n2025-03-01,1\r2025-03-02,2\r\n")
    assert [r.deaths for r in parsed.records] == [1, 2]


def test_a_house_of_several_flocks_is_judged_from_each_placement(tmp_path: Path) -> None:
    """Two Ross flocks in one file: each flock's ages (and growth-expected water) count from
    its own placement, so the second flock's young birds are not judged as 50-day-olds."""
    ross = standard_curve("ross308")
    assert ross is not None
    second = 60  # placed on day 60, after a 25-day empty house
    lines = ["date,deaths,water_l"]
    for placed in (0, second):
        for age in range(1, 36):
            drop = 0.7 if placed == second and age in (12, 13, 14) else 1.0
            water = round(3000 * 1.8 * expected_intake_shape(ross, age) / 1000 * drop, 1)
            lines.append(f"{day(placed + age).isoformat()},1,{water}")
    found, _ = _run(
        tmp_path, "\n".join(lines) + "\n", "--birds-placed", "3000", "--breed", "ross308",
        "--placed-on", day(0).isoformat(), "--placed-on", day(second).isoformat(),
    )
    # Nothing about the healthy first flock; the second's drop warns on its second day (and
    # its water is then flat or falling too).
    assert all(a["date"] >= day(second + 13).isoformat() for a in found)
    assert (day(second + 13).isoformat(), "water_drop") in [(a["date"], a["type"]) for a in found]
