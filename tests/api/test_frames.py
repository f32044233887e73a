"""The analysts' tables: the region frame equals the report page's figures, Parquet keeps every
column type, and a caller's frame holds only what the API would show them."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from cloud.api.errors import ApiError
from cloud.reports import dataframes as frames
from fuhuiyang.commands.reports import reports
from tests.api import world
from tests.api.conftest import ApiWorld
from tests.api.test_reports import PERIOD

START, END = world.TODAY - timedelta(days=7), world.TODAY + timedelta(days=1)
FILTERS = frames.Filters(start=START, end=END)


def pooled(api: ApiWorld) -> Any:
    """A connection from the app's own pool: PGlite (the TimescaleDB path) serves one at a time."""
    return api.client.app.state.pool.connection()  # type: ignore[attr-defined]


def table_of(api: ApiWorld, username: str, kind: frames.Kind, filters: frames.Filters = FILTERS) -> pd.DataFrame:
    with pooled(api) as conn:
        return frames.frame(conn, frames.scope_of(conn, username), kind, filters, today=world.TODAY)


def test_region_frame_has_the_report_pages_figures(api: ApiWorld) -> None:
    body = api.client.get("/api/v1/reports/regions/c1", headers=api.headers("tech1"), params=PERIOD).json()
    with pooled(api) as conn:
        got = frames.region_frames(conn, frames.scope_of(conn, "tech1"), "c1", START, END)
    table = got.table
    assert list(table["key"]) == [c["key"] for c in body["children"]] + ["c1"]
    for row, expected in zip(table.to_dict("records"), [*body["children"], body["total"]], strict=True):
        for key, value in expected.items():
            if value is None:
                assert pd.isna(row[key]), key
            elif isinstance(value, float):
                assert row[key] == pytest.approx(value), key
            else:
                assert row[key] == value, key
    total = table[table["is_total"]].iloc[0]
    assert total["deaths"] == 3 * 6 and total["farms"] == 3
    assert [str(d.date()) for d in got.daily["day"]] == [d for d, _ in body["daily"]]
    assert got.daily["mortality_pct"].tolist() == pytest.approx([r for _, r in body["daily"]])
    assert got.alerts_by_type.to_dict("records") == [{"type": "mortality", "severity": "critical", "count": 3}]
    # The page a technician reads shows the same total mortality.
    page = api.client.get(f"/api/v1/reports/regions/c1/export?format=csv&start={PERIOD['start']}&end={PERIOD['end']}",
                          headers=api.headers("tech1")).content.decode("utf-8-sig").splitlines()[-1].split(",")
    assert float(page[2 + 6]) == round(total["mortality_pct_day"], 2)  # key, level, then COLUMNS (6: daily %)


def test_typed_columns(api: ApiWorld) -> None:
    region = table_of(api, "admin", "region", frames.Filters(county="c1", start=START, end=END))
    assert str(region["deaths"].dtype) == "Int64" and str(region["level"].dtype) == "category"
    assert region["mortality_pct_day"].dtype == "float64"
    assert str(region["period_start"].dtype) == "datetime64[ns]"
    records = table_of(api, "admin", "records")
    assert str(records["day"].dtype) == "datetime64[ns]" and str(records["deaths"].dtype) == "Int64"
    assert str(records["county"].dtype) == "category" and records["feed_kg"].dtype == "float64"
    alerts = table_of(api, "admin", "alerts")
    assert str(alerts["raised_at"].dtype) == "datetime64[ns, Asia/Shanghai]"
    assert alerts["acknowledged_at"].isna().all() and alerts["ack_minutes"].dtype == "float64"
    weights = table_of(api, "admin", "weights")
    assert weights["mean_g"].dtype == "float64" and str(weights["n"].dtype) == "Int64"
    assert (weights["vs_standard_pct"].round(3) == 95.0).all()  # the seeded summaries are 95 % of standard


@pytest.mark.parametrize("kind", frames.KINDS)
def test_parquet_round_trip_keeps_types(api: ApiWorld, kind: frames.Kind, tmp_path: Path) -> None:
    df = table_of(api, "tech1", kind, frames.Filters(county="c1", start=START, end=END))
    assert len(df) > 0
    path = tmp_path / "t.parquet"
    frames.write(df, path)
    back = pd.read_parquet(path)
    for column, dtype in df.dtypes.items():
        if isinstance(dtype, pd.CategoricalDtype) and df[column].isna().all():
            # A category column without a single value: Parquet cannot say its values are text.
            assert isinstance(back[column].dtype, pd.CategoricalDtype), column
            back[column] = back[column].cat.set_categories(dtype.categories)
        assert back[column].dtype == dtype, column
    pd.testing.assert_frame_equal(back, df)


def test_records_reproduce_the_reports_bird_days(api_any: ApiWorld) -> None:
    api = api_any  # plain PostgreSQL and TimescaleDB
    records = table_of(api, "tech1", "records", frames.Filters(county="c1", start=START, end=END))
    body = api.client.get("/api/v1/reports/regions/c1", headers=api.headers("tech1"), params=PERIOD).json()
    assert int(records["deaths"].fillna(0).sum()) == body["total"]["deaths"]
    assert int(records["birds_start"].sum()) == body["total"]["bird_days"]
    by_township = records.groupby("township", observed=True)["deaths"].sum().to_dict()
    assert by_township == {c["key"]: c["deaths"] for c in body["children"]}


def test_a_technicians_frames_hold_only_their_farms(api: ApiWorld) -> None:
    for kind in ("records", "weights", "alerts"):
        farms = set(table_of(api, "tech1", kind)["farm_id"].dropna())
        assert farms == world.VISIBLE_FARMS["tech1"], kind
    assert set(table_of(api, "farmer1", "records")["farm_id"]) == {"f1"}
    staff = table_of(api, "staff2", "alerts")
    assert set(staff["farm_id"].dropna()) == {"f3"} and set(staff["type"]) == {"mortality", "regional_mortality"}
    assert "regional_mortality" not in set(table_of(api, "tech1", "alerts")["type"])
    # Filters narrow, never widen: another county is absent, as in the API.
    with pytest.raises(ApiError) as err:
        table_of(api, "tech1", "records", frames.Filters(county="c2"))
    assert err.value.status == 404
    assert set(table_of(api, "tech1", "records", frames.Filters(township="t2"))["farm_id"]) == {"f2"}
    with pytest.raises(ApiError):
        table_of(api, "tech1", "records", frames.Filters(flock=world.flock("f3")))
    with pytest.raises(ApiError) as err:
        table_of(api, "farmer1", "region", frames.Filters(county="c1"))
    assert err.value.status in (403, 404)
    with pytest.raises(ApiError) as err:
        table_of(api, "admin", "region", frames.Filters(county="c2", township="t1"))
    assert "not in county c2" in err.value.message
    with pytest.raises(ApiError) as err:
        table_of(api, "admin", "records", frames.Filters(county="t1"))
    assert "is a township, not a county" in err.value.message
    one = table_of(api, "admin", "records", frames.Filters(flock=world.flock("f4")))
    assert set(one["flock_id"]) == {world.flock("f4")} and len(one) == 7


def test_parquet_export_from_the_report_page(api: ApiWorld) -> None:
    r = api.client.get("/api/v1/reports/regions/c1/export", headers=api.headers("tech1"),
                       params={**PERIOD, "format": "parquet"})
    assert r.status_code == 200 and r.content.startswith(b"PAR1")
    assert r.headers["content-type"] == "application/vnd.apache.parquet"
    with pooled(api) as conn:
        expected = frames.region_frames(conn, frames.scope_of(conn, "tech1"), "c1", START, END).table
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(r.content)), expected)


def run_cli(api: ApiWorld, *args: str) -> Any:
    env = {**api.db.env(), "FUHUIYANG_JWT_SECRET": "test-secret-0123456789abcdef-0123456789"}
    return CliRunner().invoke(reports, ["frame", *args], env=env, catch_exceptions=False)


def test_cli_frames_as_a_user_or_token(api: ApiWorld, tmp_path: Path) -> None:
    out = tmp_path / "c1.parquet"
    r = run_cli(api, "--kind", "region", "--county", "c1", "--from", str(START), "--to", str(world.TODAY),
                "--as-user", "tech1", "--out", str(out))
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["rows"] == 3
    body = api.client.get("/api/v1/reports/regions/c1", headers=api.headers("tech1"), params=PERIOD).json()
    df = pd.read_parquet(out)
    assert df[df["is_total"]]["bird_days"].iloc[0] == body["total"]["bird_days"]
    csv = tmp_path / "alerts.csv"
    r = run_cli(api, "--kind", "alerts", "--as-user", api.tokens["tech1"], "--out", str(csv))
    assert r.exit_code == 0, r.output
    assert set(pd.read_csv(csv)["farm_id"]) == world.VISIBLE_FARMS["tech1"]
    r = run_cli(api, "--kind", "records", "--county", "c2", "--as-user", "tech1", "--out", str(csv))
    assert r.exit_code != 0 and "region c2 not found" in r.output
    r = run_cli(api, "--kind", "records", "--as-user", "not.a.token", "--out", str(csv))
    assert r.exit_code != 0 and "token" in r.output
    r = run_cli(api, "--kind", "records", "--out", str(tmp_path / "x.json"))
    assert r.exit_code != 0 and ".parquet or .csv" in r.output


def test_the_notebook_reproduces_the_report(api: ApiWorld) -> None:
    """docs/notebooks/regional_report.md runs as written against this database and asserts itself."""
    text = (Path(__file__).parents[2] / "docs" / "notebooks" / "regional_report.md").read_text(encoding="utf-8")
    code = "\n".join(re.findall(r"```python\n(.*?)```", text, flags=re.S))
    env = {**os.environ, **api.db.env(), "REGION": "c1", "FROM": str(START), "TO": str(world.TODAY),
           "AS_USER": "tech1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "reproduced" in done.stdout
