"""Simulated farm books: each noise pattern appears at its rate and looks as it should,
events leave their signature, everything is seeded; and the CLI round trip into a backtest."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from cloud.alerts.records import parse_records
from firmware_sim.record_noise import REAL, add_noise
from firmware_sim.records import Row, simulate, to_csv
from fuhuiyang.commands.alerts import alerts
from fuhuiyang.commands.sim import sim

DAYS = 3000  # enough days that a rate of 0.4 % is seen ~12 times


@pytest.fixture(scope="module")
def layer() -> tuple[list[Row], list[dict[str, str]], dict[str, list[str]]]:
    rows = simulate("layer", DAYS, seed=11).rows
    cells, truth = add_noise(rows, "layer", seed=11)
    return rows, cells, truth


def within_rate(count: int, chances: int, rate: float) -> bool:
    """Count within 4 binomial SDs of the rate (fails ~1 in 15,000 by chance; seeded anyway)."""
    mean = chances * rate
    return abs(count - mean) <= 4 * math.sqrt(mean * (1 - rate)) + 1


def by_day(rows: list[Row]) -> dict[str, Row]:
    return {r.day.isoformat(): r for r in rows}


def test_late_collection_one_day_short_the_next_makes_it_up(layer) -> None:  # type: ignore[no-untyped-def]
    rows, cells, truth = layer
    late = truth["late_collection"]
    assert within_rate(len(late), len(rows), REAL.late_collection)
    clean, written = by_day(rows), {c["date"]: c for c in cells}
    checked = 0
    for d in late:
        nxt = (date.fromisoformat(d) + timedelta(days=1)).isoformat()
        if d not in written or nxt not in written or written[d] is None:
            continue
        a, b = written[d]["eggs"], written[nxt]["eggs"]
        if not (a.isdigit() and b.isdigit()) or d in truth["rounded"] or nxt in truth["rounded"]:
            continue
        prev = (date.fromisoformat(d) - timedelta(days=1)).isoformat()
        if nxt in late or prev in late:
            continue  # two in a row: the neighbour moves eggs too
        other = truth["decimal_typo"] + truth["wrong_column"] + truth["two_days_at_once"]
        if d in other or nxt in other:
            continue
        short = 1 - int(a) / (clean[d].eggs or 1)
        assert 0.19 <= short <= 0.51
        assert int(a) + int(b) == (clean[d].eggs or 0) + (clean[nxt].eggs or 0)
        checked += 1
    assert checked >= 0.3 * len(late)  # the rest overlap rounding or another pattern


def test_missing_days_are_not_written(layer) -> None:  # type: ignore[no-untyped-def]
    rows, cells, truth = layer
    written = {c["date"] for c in cells}
    assert truth["missing"] and not written & set(truth["missing"])
    runs = sum(
        1 for d in truth["missing"]
        if (date.fromisoformat(d) - timedelta(days=1)).isoformat() not in truth["missing"]
    )
    assert within_rate(runs, len(rows), REAL.missing)


def test_two_days_at_once_hold_both_days_counts(layer) -> None:  # type: ignore[no-untyped-def]
    rows, cells, truth = layer
    clean, written = by_day(rows), {c["date"]: c for c in cells}
    assert within_rate(len(truth["two_days_at_once"]), len(rows), REAL.two_days_at_once)
    for d in truth["two_days_at_once"]:
        before = (date.fromisoformat(d) - timedelta(days=1)).isoformat()
        assert before not in written
        assert int(written[d]["deaths"]) == clean[before].deaths + clean[d].deaths


def test_wrong_column_swaps_two_counts(layer) -> None:  # type: ignore[no-untyped-def]
    rows, cells, truth = layer
    clean, written = by_day(rows), {c["date"]: c for c in cells}
    assert within_rate(len(truth["wrong_column"]), len(rows), REAL.wrong_column)
    checked = 0
    for d in truth["wrong_column"]:
        if d in truth["rounded"]:
            continue
        names = ("deaths", "water_l", "feed_kg", "eggs")
        was = [float(getattr(clean[d], k)) for k in names]
        now = [float(written[d][k]) for k in names]
        differ = [k for k, a, b in zip(names, was, now, strict=True) if abs(a - b) > 0.05]
        assert len(differ) == 2 and sorted(was) == pytest.approx(sorted(now)), (d, written[d])
        checked += 1
    assert checked >= 1


def test_decimal_typos_shift_the_point_or_run_digits_together(layer) -> None:  # type: ignore[no-untyped-def]
    rows, cells, truth = layer
    clean, written = by_day(rows), {c["date"]: c for c in cells}
    assert within_rate(len(truth["decimal_typo"]), len(rows), REAL.decimal_typo)
    for d in truth["decimal_typo"]:
        odd = []
        for k in ("water_l", "feed_kg", "eggs"):
            true = float(getattr(clean[d], k) or 0)
            text = written[d][k]
            ratio = float(text) / true if true else 1
            if k == "eggs" and "." in text:
                odd.append(k)  # 4409 -> 4409.3040
            elif 8 < ratio < 12 or 1 / 12 < ratio < 1 / 8:
                odd.append(k)
        assert len(odd) == 1, (d, written[d])


def test_round_numbers(layer) -> None:  # type: ignore[no-untyped-def]
    rows, cells, truth = layer
    written = {c["date"]: c for c in cells}
    assert within_rate(len(truth["rounded"]), len(cells), REAL.rounded)
    for d in truth["rounded"]:
        if d in truth["decimal_typo"] or d in truth["wrong_column"]:
            continue
        assert float(written[d]["water_l"]) % 10 == 0 and int(written[d]["eggs"]) % 100 == 0


def test_the_written_book_is_seeded_and_readable() -> None:
    def book(seed: int) -> str:
        rows = simulate("broiler", 200, seed=seed).rows
        return to_csv(add_noise(rows, "broiler", seed=seed)[0])

    assert book(5) == book(5) and book(5) != book(6)
    parsed = parse_records(book(5))
    assert len(parsed.records) > 100
    # Clean rows for the same seed: noise does not move the flock itself.
    assert [r.deaths for r in simulate("broiler", 200, 5).rows] == [
        r.deaths for r in simulate("broiler", 200, 5).rows
    ]


def test_broiler_flocks_leave_the_house_empty_between_them() -> None:
    record = simulate("broiler", 200, seed=1)
    days = [r.day for r in record.rows]
    gaps = [(b - a).days for a, b in zip(days, days[1:], strict=False) if (b - a).days > 1]
    assert gaps == [15, 15, 15] and len(record.flocks) == 4


@pytest.mark.parametrize(
    ("kind", "event", "signal"),
    [
        ("layer", "hpai", "deaths"),
        ("layer", "nd", "eggs"),
        ("layer", "eds", "eggs"),
        ("broiler", "coccidiosis", "deaths"),
        ("local", "heat", "water_l"),
    ],
)
def test_events_leave_their_signature_and_true_dates(kind: str, event: str, signal: str) -> None:
    at = 30
    plain = simulate(kind, 60, seed=2)
    hit = simulate(kind, 60, seed=2, events=[(event, at)])
    (truth,) = hit.events
    onset = date.fromisoformat(truth["onset"])
    assert onset == plain.rows[0].day + timedelta(days=at)
    assert date.fromisoformat(truth["end"]) > onset

    def total(rows: list[Row]) -> float:
        window = [r for r in rows if onset <= r.day <= onset + timedelta(days=3)]
        return sum(float(getattr(r, signal) or 0) for r in window)

    change = total(hit.rows) / total(plain.rows)
    assert change > 1.3 if signal in ("deaths", "water_l") else change < 0.85


def test_events_that_cannot_happen_are_refused() -> None:
    with pytest.raises(ValueError, match="laying hens"):
        simulate("broiler", 100, seed=1, events=[("eds", 10)])
    with pytest.raises(ValueError, match="empty"):
        simulate("broiler", 100, seed=1, events=[("nd", 45)])


def test_cli_sim_records_into_alerts_backtest(tmp_path: Path) -> None:
    out, truth = tmp_path / "farm.csv", tmp_path / "truth.json"
    made = CliRunner().invoke(sim, [
        "records", "--kind", "layer", "--days", "300", "--seed", "4", "--noise", "real",
        "--event", "nd@220", "--out", str(out), "--truth-json", str(truth),
    ])
    assert made.exit_code == 0, made.output
    facts = json.loads(truth.read_text())
    (event,) = facts["events"]
    assert event["kind"] == "nd" and facts["noise"]["late_collection"]
    done = CliRunner().invoke(alerts, [
        "backtest", "--records", str(out), "--birds-placed", str(facts["birds_placed"]), "--json",
    ])
    assert done.exit_code == 0, done.output
    found = json.loads(done.stdout)
    onset = date.fromisoformat(event["onset"])
    birds = [a for a in found if a["type"] != "record_suspect"]
    before = {a["date"] for a in birds if date.fromisoformat(a["date"]) < onset}
    assert len(before) <= 220 * 20 // 600  # the quiet-year target, pro rata
    caught = [a for a in birds
              if onset <= date.fromisoformat(a["date"]) <= onset + timedelta(days=2)]
    assert caught, found
