"""`fuhuiyang reports ...`: the analysts' tables (cloud/reports/dataframes.py) as Parquet or CSV files."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

if TYPE_CHECKING:
    from cloud.reports import dataframes as frames


@click.group()
def reports() -> None:
    """Regional reports and the analysts' tables (settings: FUHUIYANG_* environment)."""


@reports.command("frame")
@click.option("--kind", type=click.Choice(["region", "records", "weights", "alerts"]), required=True,
              help="region: the report table (as the report page); records: daily flock records; "
                   "weights: daily weights per house; alerts.")
@click.option("--county", default=None, help="County region id.")
@click.option("--township", default=None, help="Township region id (a region report reports on it).")
@click.option("--from", "start", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First day.")
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day (included).")
@click.option("--flock", default=None, help="Flock id (records, weights, alerts).")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="FILE.parquet (column types kept) or FILE.csv.")
@click.option("--as-user", "as_user", default=None,
              help="Scope the table as this user would see it: a login name or an API token. "
                   "Without it: everything (an operator with database access).")
def frame(kind: str, county: str | None, township: str | None, start: datetime | None, last: datetime | None,
          flock: str | None, out: Path, as_user: str | None) -> None:
    """Write a typed table (pandas DataFrame) to Parquet or CSV; prints a JSON line."""
    from zoneinfo import ZoneInfo

    from cloud.api.errors import ApiError
    from cloud.db.connection import connect
    from cloud.reports import dataframes as frames
    from cloud.settings import CloudSettings

    if out.suffix not in (".parquet", ".csv"):
        raise click.UsageError(f"--out {out.name}: the file must end in .parquet or .csv")
    settings = CloudSettings()
    filters = frames.Filters(county=county, township=township, flock=flock,
                             start=start.date() if start else None,
                             end=last.date() + timedelta(days=1) if last else None)
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    with connect(settings.database_url, settings.database_schema, autocommit=True) as conn:
        try:
            if as_user is None:
                scope = frames.everything()
            else:
                secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else None
                scope = frames.scope_of(conn, as_user, secret)
            df = frames.frame(conn, scope, cast("frames.Kind", kind), filters, today)
        except ApiError as exc:
            raise click.ClickException(exc.message) from None
    frames.write(df, out)
    click.echo(json.dumps({"kind": kind, "rows": len(df), "columns": {c: str(t) for c, t in df.dtypes.items()},
                           "out": str(out)}, ensure_ascii=False))
