"""Alert text for SMS and the app: zh-CN by default, English on request.

One line says what and where, one line says what to do (from the advice knowledge base),
and a reply hint lets the farmer acknowledge by SMS. Written to fit two UCS-2 segments
(134 characters) so a basic phone shows it whole; English avoids non-GSM characters (°).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cloud.alerts import model as m
from cloud.alerts.advice import advice_for
from cloud.alerts.model import Finding, Severity

LANGS = ("zh-CN", "en")

# (zh, en) per type; fields come from the finding (value, threshold) and its evidence.
TEMPLATES: dict[str, tuple[str, str]] = {
    m.MORTALITY: (
        "24小时死亡{deaths}只({pct}%)，超过预警线",
        "{deaths} dead in 24 h ({pct}%), over the alarm level",
    ),
    m.SUSPECTED_DISEASE: (
        "疑似禽流感/新城疫：死亡{deaths}只且饮水或采食下降",
        "Suspected bird flu/Newcastle: {deaths} dead and water or feed down",
    ),
    m.EGG_DROP: ("产蛋下降{value}%", "Eggs down {value}%"),
    m.WATER_DROP: ("饮水比平时少{value}%", "Water {value}% below usual"),
    m.WATER_FLAT: ("饮水连续{days}天不增", "Water flat or falling for {days} days"),
    m.WATER_SURGE: ("饮水突增到平时的{value}倍", "Water use {value} times usual"),
    m.WEIGHT_BELOW_CURVE: (
        "均重{mean_g}克，比标准{expected_g}克低{value}%",
        "Mean weight {mean_g} g, {value}% under the {expected_g} g standard",
    ),
    m.WEIGHT_GAIN_SLOW: (
        "近2天增重{gain_48h_g}克，不到前2天一半",
        "2-day gain {gain_48h_g} g, under half the 2 days before",
    ),
    m.UNIFORMITY_FALLING: ("均匀度降到{uniformity_pct}%", "Uniformity down to {uniformity_pct}%"),
    m.TEMPERATURE_BAND: (
        "舍温{value}℃，应为{threshold}℃左右",
        "House at {value} C, should be about {threshold} C",
    ),
    m.TEMPERATURE_CHANGE: ("舍温1小时变化{value}℃", "Temperature changed {value} C in an hour"),
    m.HEAT_STRESS: ("热应激指数{value}，{band_zh}级", "Heat stress index {value}, {band} level"),
    m.NH3_HIGH: ("氨气{value}ppm，超过{threshold}", "Ammonia {value} ppm, over {threshold}"),
    m.CO2_HIGH: ("二氧化碳{value}ppm，超过{threshold}", "CO2 {value} ppm, over {threshold}"),
    m.HUMIDITY_RANGE: (
        "湿度{value}%，已{hours}小时不在50-70%",
        "Humidity {value}%, outside 50-70% for {hours} h",
    ),
    m.GATEWAY_OFFLINE: ("网关{subject}已离线", "Gateway {subject} is offline"),
    m.SENSOR_FAULT: ("{value}个传感器故障", "{value} sensor(s) faulty"),
    m.SENSOR_DRIFT: (
        "氨气读数{nh3_ppm}ppm与通风不符，疑似传感器漂移",
        "Ammonia reads {nh3_ppm} ppm but ventilation says less: sensor drifting?",
    ),
    m.CAMERA_BLIND: ("{value}个摄像头看不清", "{value} camera(s) blind"),
    m.OUTBOX_BACKLOG: (
        "网关{subject}积压{value}条数据",
        "Gateway {subject} has {value} unsent messages",
    ),
    m.CLOCK_SKEW: ("网关{subject}时钟偏差{value}秒", "Gateway {subject} clock off by {value} s"),
    m.DEAD_BIRD: (
        "摄像头{camera}拍到{value}只死鸡",
        "Camera {camera} sees {value} dead bird(s)",
    ),
    m.RECORD_SUSPECT: (
        "{day}记录{column}写的{written}似乎有误",
        "{day} record: {column} written as {written} looks wrong",
    ),
    m.REGIONAL_OUTBREAK: (
        "{region}有{value}个养殖场72小时内异常死亡",
        "{value} farms in {region} with abnormal deaths in 72 h",
    ),
}
DIGEST = (
    "另有{count}条提醒未发短信，请在应用中查看",
    "{count} more alerts not sent by SMS, see the app",
)
SEVERITY_WORDS = {
    Severity.INFO: ("提示", "Note"),
    Severity.WARNING: ("警告", "Warning"),
    Severity.CRITICAL: ("紧急", "URGENT"),
}
THI_BANDS_ZH = {"alert": "警戒", "danger": "危险", "emergency": "紧急"}
BRAND = ("【富慧养】", "Fuhuiyang: ")
REPLY_HINT = ("回复1确认", "Reply 1 to confirm")


@dataclass(frozen=True)
class MessageInput:
    kind: str
    severity: Severity
    rule: str | None = None
    value: float | None = None
    threshold: float | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    place: str = ""  # farm and house as the recipient knows them
    region: str | None = None
    subject: str | None = None

    @classmethod
    def from_finding(
        cls, finding: Finding, place: str = "", region_name: str | None = None
    ) -> MessageInput:
        key = finding.key
        return cls(
            kind=key.type,
            severity=finding.severity,
            rule=finding.rule,
            value=finding.value,
            threshold=finding.threshold,
            evidence=finding.evidence,
            place=place,
            region=region_name or key.region,
            subject=key.subject,
        )


def place_label(farm: str | None, house: str | None, lang: str = "zh-CN") -> str:
    if not farm:
        return ""
    if house is None:
        return farm
    if lang.startswith("en"):
        return f"{farm} house {house}"
    return f"{farm}{house}号舍" if house.isdigit() else f"{farm}{house}"


def render(
    msg: MessageInput, lang: str = "zh-CN", reply_hint: bool = True, reply_code: str | None = None
) -> str:
    """The SMS/app text for one alert; `reply_code` is the code a reply quotes to acknowledge."""
    en = _is_en(lang)
    i = 1 if en else 0
    template = TEMPLATES.get(msg.kind, ("{kind}", "{kind}"))[i]
    body = template.format_map(_Fields(_fields(msg)))
    parts = [BRAND[i], f"{SEVERITY_WORDS[msg.severity][i]}"]
    if msg.place:
        parts.append(f" {msg.place}: " if en else f"{msg.place}：")
    else:
        parts.append(": " if en else "：")
    parts.append(body + ("." if en else "。"))
    advice = advice_for(msg.kind, msg.rule, "en" if en else "zh-CN")
    if advice:
        parts.append((" " if en else "") + advice)
    if reply_hint:
        hint = REPLY_HINT[i] if reply_code is None else REPLY_HINT[i].replace("1", reply_code, 1)
        parts.append((" " if en else "") + hint)
    return "".join(parts)


def render_digest(count: int, place: str = "", lang: str = "zh-CN") -> str:
    i = 1 if _is_en(lang) else 0
    head = BRAND[i] + (f"{place}: " if i and place else f"{place}：" if place else "")
    return head + DIGEST[i].format(count=count)


def render_line(msg: MessageInput, lang: str = "zh-CN") -> str:
    """The alert in a few words (place and what), for a line of the daily digest."""
    i = 1 if _is_en(lang) else 0
    body = TEMPLATES.get(msg.kind, ("{kind}", "{kind}"))[i].format_map(_Fields(_fields(msg)))
    if not msg.place:
        return body
    return f"{msg.place}: {body}" if i else f"{msg.place}：{body}"


DAILY = (("今日摘要{n}项：", "；", "；另{more}项见应用。"), ("Today, {n}: ", "; ", "; {more} more in the app."))
DAILY_LINES = 3  # three short lines keep a digest within three UCS-2 segments


def render_daily(lines: list[str], lang: str = "zh-CN") -> str:
    """One SMS for the day's held lines: the first few, and how many more the app shows."""
    i = 1 if _is_en(lang) else 0
    head, sep, tail = DAILY[i]
    shown = lines[:DAILY_LINES]
    text = BRAND[i] + head.format(n=len(lines)) + sep.join(shown)
    more = len(lines) - len(shown)
    return text + (tail.format(more=more) if more else ("." if i else "。"))


def _is_en(lang: str) -> bool:
    if lang not in LANGS and not lang.startswith(("en", "zh")):
        raise ValueError(f"unsupported language {lang!r}; use one of {', '.join(LANGS)}")
    return lang.startswith("en")


def message_fields(msg: MessageInput) -> dict[str, Any]:
    """The values an alert's text is made of (numbers formatted), by field name."""
    return _fields(msg)


def _fields(msg: MessageInput) -> dict[str, Any]:
    fields: dict[str, Any] = {
        k: _fmt(v) for k, v in msg.evidence.items() if not isinstance(v, (dict, list))
    }
    mortality = msg.evidence.get("mortality")
    if isinstance(mortality, Mapping):  # suspected disease carries the mortality evidence
        fields.update({k: _fmt(v) for k, v in mortality.items() if not isinstance(v, (dict, list))})
    fields.update(
        kind=msg.kind,
        value=_fmt(msg.value),
        threshold=_fmt(msg.threshold),
        region=msg.region or "",
        subject=msg.subject or "",
    )
    band = msg.evidence.get("band")
    if isinstance(band, str):
        fields["band_zh"] = THI_BANDS_ZH.get(band, band)
    return fields


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.1f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.0f}"
    return value


class _Fields(dict[str, Any]):
    """A missing field renders as "?" instead of raising mid-incident."""

    def __missing__(self, key: str) -> str:
        return "?"
