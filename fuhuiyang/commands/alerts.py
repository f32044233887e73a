"""`fuhuiyang alerts ...`: backtest a flock history, replay stored data, run the worker, preview texts."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from pathlib import Path
from typing import Any

import click

from cloud.alerts.backtest import backtest, infer_placement
from cloud.alerts.messages import LANGS, MessageInput, render
from cloud.alerts.model import ALL_TYPES, FlockContext, Severity
from cloud.alerts.records import RecordsError, parse_book
from cloud.alerts.thresholds import ThresholdBook, load_book
from cloud.notify.segments import count_segments
from cloud.notify.templates import ALIYUN_VAR_MAX, CATALOGUE, TENCENT_PERSONAL_VAR_MAX, signed
from farming.growth import BREEDS, Gompertz, fit_gompertz, standard_curve

log = logging.getLogger(__name__)


@click.group(name="alerts")
def alerts() -> None:
    """Alert rules, lifecycle and messages."""


@alerts.command(name="backtest")
@click.option(
    "--records",
    "records_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The farm's book: .xlsx or .csv (UTF-8 or GB18030), with columns date and deaths and optionally "
    "birds, water_l, feed_kg, mean_weight_g, eggs, in English or Chinese (日期, 死亡, 存栏, 饮水(L), 饲料(kg), 体重(g), 产蛋).",
)
@click.option("--sheet", default=None, help="Read only this sheet of a workbook (default: every sheet of the first one's layout).")
@click.option("--map", "mapping", multiple=True, metavar="COLUMN=FIELD",
              help="Say what a column holds when its header is not recognised (repeatable).")
@click.option(
    "--birds-placed", required=True, type=click.IntRange(min=1), help="Birds placed in the flock."
)
@click.option(
    "--breed", default=None, help=f"Breed for the growth standard ({', '.join(BREEDS)})."
)
@click.option(
    "--placed-on",
    default=None,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Placement date (day 0); with --breed and weights, estimated from the first weighing.",
)
@click.option(
    "--thresholds",
    "thresholds_path",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML threshold overrides (base/breeds/farms/houses).",
)
@click.option(
    "--growth-from",
    "growth_path",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A previous flock's CSV (date, deaths, mean_weight_g; first date = day 0): fit the farm's own Gompertz curve from it.",
)
@click.option("--farm", default="farm", show_default=True, help="Farm name used in messages.")
@click.option("--house", default=None, help="House name used in messages.")
@click.option("--lang", type=click.Choice(LANGS), default="zh-CN", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of alerts on stdout.")
def backtest_cmd(
    records_path: Path,
    sheet: str | None,
    mapping: tuple[str, ...],
    birds_placed: int,
    breed: str | None,
    placed_on: datetime | None,
    thresholds_path: Path | None,
    growth_path: Path | None,
    farm: str,
    house: str | None,
    lang: str,
    as_json: bool,
) -> None:
    """Run the daily flock rules over a farm's history and list the alerts that would have fired."""
    from cloud.records import BookError
    from cloud.records.reader import parse_mapping

    try:
        data = records_path.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {records_path}: {exc}") from None
    try:
        parsed = parse_book(data, records_path.name, sheet, parse_mapping(mapping))
    except BookError as exc:
        raise click.BadParameter(str(exc), param_hint="--map") from None
    except RecordsError as exc:
        raise click.ClickException(f"{records_path}: {exc}") from None
    for problem in parsed.problems:
        click.echo(f"{records_path}: {problem}", err=True)
    if parsed.counters:
        summary = ", ".join(f"{k}={v}" for k, v in sorted(parsed.counters.items()))
        click.echo(f"{records_path}: {summary}", err=True)

    if breed is not None and standard_curve(breed) is None and growth_path is None:
        # A breed without a standard curve: the other rules still apply.
        click.echo(
            f"{records_path}: no growth standard for breed {breed!r} (known: {', '.join(BREEDS)}); "
            "weight-vs-curve rule off unless --growth-from gives the farm's own curve",
            err=True,
        )
    placed = placed_on.date() if placed_on is not None else None
    if placed is None and breed is not None:
        placed = infer_placement(parsed.records, standard_curve(breed))
        note = (
            f"placement estimated from the first weighing and the {breed} curve: {placed}"
            if placed is not None
            else "age unknown (give --placed-on): growth-curve and water-growth rules off"
        )
        click.echo(f"{records_path}: no --placed-on; {note}", err=True)
    thresholds = ThresholdBook().resolve(breed, farm, house)
    if thresholds_path is not None:
        try:
            thresholds = load_book(thresholds_path).resolve(breed, farm, house)
        except (ValueError, OSError) as exc:
            raise click.ClickException(f"{thresholds_path}: {exc}") from None

    curve = None
    if growth_path is not None:
        if placed is None:
            raise click.ClickException("--growth-from needs --placed-on for this flock's ages")
        curve = _fit_growth(growth_path)
    context = FlockContext(
        farm=farm, house=house, birds_placed=birds_placed, breed=breed, placed_on=placed
    )
    result = backtest(
        parsed.records, context, thresholds, curve=curve, lang=lang, noted=parsed.suspects
    )
    if as_json:
        click.echo(json.dumps(result.alerts, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{result.days} days judged, {len(result.alerts)} alerts, {result.notifications} notifications"
    )
    for a in result.alerts:
        click.echo(f"{a['date']}  {a['severity']:<8} {a['type']:<30} {a['message']}")


def _fit_growth(path: Path) -> Gompertz:
    try:
        reference = parse_book(path.read_bytes(), path.name)
    except (OSError, RecordsError) as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    start = reference.records[0].day
    points = [((r.day - start).days, r.mean_weight_g) for r in reference.records if r.mean_weight_g]
    try:
        curve = fit_gompertz(points)
    except ValueError as exc:
        raise click.ClickException(f"{path}: {exc}") from None
    click.echo(
        f"{path}: farm growth curve A={curve.a:.0f} g, k={curve.k:.4f}/day, ti={curve.ti:.1f} days",
        err=True,
    )
    return curve


@alerts.command(name="replay")
@click.option(
    "--from", "start", required=True, help="First day (YYYY-MM-DD, or an ISO time: its date)."
)
@click.option("--to", "end", required=True, help="Last day, inclusive.")
@click.option(
    "--write", is_flag=True, help="Store the alerts in the database (default: a dry run)."
)
@click.option(
    "--thresholds",
    "thresholds_path",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML threshold overrides.",
)
@click.option("--lang", type=click.Choice(LANGS), default="zh-CN", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of alerts on stdout.")
def replay_cmd(
    start: str, end: str, write: bool, thresholds_path: Path | None, lang: str, as_json: bool
) -> None:
    """Re-evaluate stored data (daily records, scale summaries, hourly climate) over a period."""
    from cloud.alerts.replay import alert_rows, replay
    from cloud.alerts.store_pg import PgAlertStore
    from cloud.settings import CloudSettings
    from fuhuiyang.processes.alerts import open_database

    first, last = _day(start, "--from"), _day(end, "--to")
    settings = CloudSettings()
    book = None
    if thresholds_path is not None:
        try:
            book = load_book(thresholds_path)
        except (ValueError, OSError) as exc:
            raise click.ClickException(f"{thresholds_path}: {exc}") from None
    try:
        conn = open_database(settings)
    except Exception as exc:  # psycopg.OperationalError and friends: say what failed, no traceback
        raise click.ClickException(f"cannot connect to the database: {exc}") from None
    with conn:
        store = PgAlertStore(conn) if write else None
        try:
            result = replay(conn, first, last, settings.timezone, store, book)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        from cloud.alerts.source_pg import load_farms

        names = {farm: info.name for farm, info in load_farms(conn).items()}
    rows = alert_rows(result.alerts, names, lang)
    click.echo(
        f"replayed {result.days} days, {result.flocks} flocks, {result.env_hours} climate hours: "
        f"{len(rows)} alerts{' written' if write else ' (dry run)'}",
        err=True,
    )
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['date']}  {row['severity']:<8} {row['type']:<30} {row['message']}")


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not a date (YYYY-MM-DD)", param_hint=option
        ) from None


@alerts.command(name="run")
@click.option(
    "--interval",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds between cycles.",
)
@click.option("--once", is_flag=True, help="Run one cycle and exit.")
@click.option(
    "--thresholds",
    "thresholds_path",
    default=None,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML threshold overrides.",
)
@click.option(
    "--heartbeat", default=300.0, show_default=True, help="Gateway health interval, seconds."
)
@click.option("--json", "as_json", is_flag=True, help="Print each cycle's report as a JSON line.")
def run_cmd(
    interval: float, once: bool, thresholds_path: Path | None, heartbeat: float, as_json: bool
) -> None:
    """The alert worker: judge new data, escalate, resolve, and send due SMS, every --interval."""
    import time as _time

    from cloud.alerts.worker import utc_now
    from fuhuiyang.processes.alerts import open_worker

    try:
        worker = open_worker(thresholds_path, heartbeat)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    except Exception as exc:  # psycopg.OperationalError: say what failed, no traceback
        raise click.ClickException(f"cannot connect to the database: {exc}") from None
    with worker.conn:
        while True:
            try:
                report = worker.cycle(utc_now())
            except Exception:  # the worker must outlive one bad cycle; the next one retries
                log.exception("alert cycle failed")
                if once:
                    raise click.ClickException("the alert cycle failed (see the log)") from None
                _time.sleep(interval)
                continue
            line = {
                k: (v.isoformat() if isinstance(v, datetime) else v)
                for k, v in report.__dict__.items()
            }
            click.echo(
                json.dumps(line, ensure_ascii=False)
                if as_json
                else f"{line['at']}: {report.flocks} flocks, {report.climate_hours} climate hours, "
                f"{report.gateways} gateways, {report.queued} SMS queued, {report.sent} sent"
            )
            if once:
                return
            _time.sleep(interval)


@alerts.command(name="templates")
@click.option("--lang", type=click.Choice(LANGS), default="zh-CN", show_default=True)
@click.option("--price", default=0.045, show_default=True, help="Price per SMS segment (CNY).")
@click.option(
    "--provider",
    type=click.Choice(["aliyun", "tencent"]),
    default=None,
    help="List the templates to submit for review to this provider (name, content, variables).",
)
@click.option("--sign", default="富慧养", show_default=True, help="The SMS signature, for the examples.")
@click.option("--json", "as_json", is_flag=True)
def templates_cmd(lang: str, price: float, provider: str | None, sign: str, as_json: bool) -> None:
    """Render every alert type with sample values, with SMS segments and cost; with --provider,
    the templates to submit for review (then map each name to the provider's code in
    FUHUIYANG_SMS_TEMPLATE_CODES)."""
    if provider is not None:
        _submission(provider, sign, as_json)
        return
    rows = []
    for kind in ALL_TYPES:
        sample = MessageInput(
            kind=kind,
            severity=Severity.WARNING,
            rule=_SAMPLE_RULES.get(kind),
            value=_SAMPLE_VALUE,
            threshold=20.0,
            evidence=_SAMPLE_EVIDENCE,
            place="李家坪鸡场1号舍" if lang == "zh-CN" else "Lijiaping farm house 1",
            region="青华镇" if lang == "zh-CN" else "Qinghua",
            subject="gw-0007",
        )
        text = render(sample, lang)
        seg = count_segments(text)
        rows.append(
            {
                "type": kind,
                "text": text,
                "encoding": seg.encoding,
                "units": seg.units,
                "segments": seg.count,
                "cost": seg.cost(price),
            }
        )
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['segments']} seg {row['units']:>3} {row['encoding']}  {row['text']}")


def _submission(provider: str, sign: str, as_json: bool) -> None:
    limit = ALIYUN_VAR_MAX if provider == "aliyun" else TENCENT_PERSONAL_VAR_MAX
    rows: list[dict[str, Any]] = []
    for t in CATALOGUE.values():
        example = signed(sign, t.fill(t.example_params()))
        seg = count_segments(example)
        rows.append(
            {
                "name": t.name,
                "kind": t.kind,
                "rule": t.rule,
                "type": "notification",  # 短信通知 / 通知类短信: never a verification code
                "content": t.content if provider == "aliyun" else t.tencent_content,
                "variables": [
                    {"name": v.name, "position": i + 1, "max_len": min(v.max_len, limit), "example": v.example}
                    for i, v in enumerate(t.variables)
                ],
                "example": example,
                "segments": seg.count,
            }
        )
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        variables = ", ".join(f"{v['name']} ≤{v['max_len']}" for v in row["variables"])
        click.echo(f"{row['name']}\n  {row['content']}\n  variables: {variables}\n  example: {row['example']}")


_SAMPLE_VALUE = 3.0
_SAMPLE_RULES = {"temperature_out_of_band": "too_cold", "humidity_out_of_range": "humidity_high"}
_SAMPLE_EVIDENCE = {
    "deaths": 42,
    "pct": 2.1,
    "days": 3,
    "mean_g": 1480,
    "expected_g": 1783,
    "gain_48h_g": 60,
    "uniformity_pct": 68,
    "band": "danger",
    "hours": 6,
}
