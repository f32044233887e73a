"""`fuhuiyang cloud web ...`: the first administrator and the scheduled weekly reports.

(`fuhuiyang cloud api` itself, the HTTP server, is wired in fuhuiyang/processes/api.py.)
"""

from __future__ import annotations

import json
from datetime import date

import click


@click.group()
def web() -> None:
    """Users of the web app and its scheduled reports (settings: FUHUIYANG_* environment)."""


@web.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice(["farmer", "technician", "program_staff", "admin"]), required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 8 characters (prompted when omitted).")
@click.option("--farm", "farms", multiple=True, help="Farm id in scope (farmers).")
@click.option("--region", "regions", multiple=True, help="Region id in scope (technicians, programme staff).")
@click.option("--display-name", default=None)
@click.option("--phone", default=None)
def create_user(username: str, role: str, password: str, farms: tuple[str, ...], regions: tuple[str, ...],
                display_name: str | None, phone: str | None) -> None:
    """Create a user (the first administrator, or anyone, without going through the API)."""
    from pydantic import ValidationError

    from cloud.api.errors import ApiError
    from cloud.api.schemas import UserIn
    from cloud.api.services.users import create_user as create
    from cloud.db.connection import connect
    from cloud.settings import CloudSettings

    try:
        data = UserIn(username=username, password=password, role=role, display_name=display_name,
                      phone=phone, farms=list(farms), regions=list(regions))
    except ValidationError as exc:
        raise click.ClickException(str(exc)) from None
    settings = CloudSettings()
    with connect(settings.database_url, settings.database_schema) as conn:
        try:
            user = create(conn, None, data.model_dump())
        except ApiError as exc:
            raise click.ClickException(exc.message) from None
        conn.commit()
    click.echo(json.dumps({"id": user["id"], "username": user["username"], "role": user["role"]}))


@web.command("weekly-reports")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Default: today (farm time).")
@click.option("--level", "levels", multiple=True, default=("county",), show_default=True,
              type=click.Choice(["province", "city", "county", "township", "village"]))
@click.option("--lang", type=click.Choice(["zh-CN", "en"]), default="zh-CN", show_default=True)
def weekly_reports(today: object, levels: tuple[str, ...], lang: str) -> None:
    """Write last week's report per region (CSV, XLSX, PDF, Parquet) under FUHUIYANG_REPORTS_DIR."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from cloud.db.connection import connect
    from cloud.reports.weekly import write_weekly
    from cloud.settings import CloudSettings

    settings = CloudSettings()
    day: date = today.date() if isinstance(today, datetime) else datetime.now(ZoneInfo(settings.timezone)).date()
    with connect(settings.database_url, settings.database_schema, autocommit=True) as conn:
        paths = write_weekly(conn, settings.reports_dir, day, levels, lang, settings.pdf_font)
    click.echo(json.dumps({"written": [str(p) for p in paths]}))
