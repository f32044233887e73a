"""`fuhuiyang records ...`: a farm's own book (Excel or CSV) into a flock's daily records."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import click

if TYPE_CHECKING:  # the cloud extra is imported only when a command runs
    import psycopg

    from cloud.api.scope import Scope

LANGS = ("zh-CN", "en")


@click.group(name="records")
def records() -> None:
    """Daily flock records (settings: FUHUIYANG_* environment)."""


@records.command(name="import")
@click.option("--file", "path", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The book: .xlsx, or .csv in UTF-8 or GB18030.")
@click.option("--flock", "flock_id", required=True, help="The flock the book's days belong to.")
@click.option("--sheet", default=None, help="Only this sheet (default: every sheet of the first one's layout).")
@click.option("--map", "mapping", multiple=True, metavar="COLUMN=FIELD",
              help="What a column holds, by its header as written or its letter (repeatable); FIELD is one of "
              "date, deaths, culls, birds, eggs, feed_kg, water_l, mean_weight_g, uniformity_pct, ignore.")
@click.option("--dry-run", is_flag=True, help="Read and check everything, write nothing.")
@click.option("--user", "username", default=None,
              help="Import as this user (their scope applies, the days are theirs); default: the operator.")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="Days after this are refused (default: today, farm time).")
@click.option("--lang", type=click.Choice(LANGS), default="zh-CN", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def import_cmd(path: Path, flock_id: str, sheet: str | None, mapping: tuple[str, ...], dry_run: bool,
               username: str | None, today: datetime | None, lang: str, as_json: bool) -> None:
    """Import a farm's record book: one transaction for the whole book; a re-import changes nothing."""
    from cloud.api.errors import ApiError
    from cloud.api.services.record_import import import_book
    from cloud.records import BookError, read_book
    from cloud.records.reader import parse_mapping
    from cloud.settings import CloudSettings
    from fuhuiyang.processes.alerts import open_database

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    try:
        book = read_book(data, path.name, sheet, parse_mapping(mapping))
    except BookError as exc:
        raise click.ClickException(f"{path}: {exc.text(lang)}") from None
    settings = CloudSettings()
    day = today.date() if today is not None else datetime.now(ZoneInfo(settings.timezone)).date()
    try:
        conn = open_database(settings)
    except Exception as exc:  # psycopg.OperationalError and friends: say what failed, no traceback
        raise click.ClickException(f"cannot connect to the database: {exc}") from None
    with conn:
        try:
            scope = _scope(conn, username)
            result = import_book(conn, scope, flock_id, book, day, dry_run=dry_run)
        except ApiError as exc:
            conn.rollback()
            raise click.ClickException(exc.message) from None
        conn.commit()
    out = result.to_dict(book, lang)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    for issue in out["errors"]:
        where = "/".join(str(x) for x in (issue["sheet"], issue["row"], issue["column"]) if x)
        shown = f" {issue['value']!r}" if issue["value"] is not None else ""
        click.echo(f"{path}: {where}:{shown} {issue['reason']} ({issue['action']})", err=True)
    rows = out["rows"]
    click.echo(("dry run: " if dry_run else "") + f"{rows['read']} rows read, {rows['inserted']} inserted, "
               f"{rows['updated']} updated, {rows['unchanged']} unchanged, {rows['rejected']} rejected")


def _scope(conn: psycopg.Connection, username: str | None) -> Scope:
    from cloud.api.errors import ApiError
    from cloud.api.scope import Principal, Role, Scope, resolve

    if username is None:
        return Scope(Principal(0, "operator", Role.ADMIN, None, "zh-CN"), None, None)
    row = conn.execute("SELECT id, role, display_name, locale FROM users WHERE username = %s AND active",
                       (username,)).fetchone()
    if row is None:
        raise ApiError(404, "not_found", f"no active user {username!r}")
    return resolve(conn, Principal(row[0], username, Role(row[1]), row[2], row[3]))

