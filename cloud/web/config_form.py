"""The gateway settings as a form, generated from the wire contract (protocol.gateway_settings).

Each plain setting of `RemoteSettings` and of the sections the gateway merges key by key (outbox,
rules, flock) becomes one input, with its unit, allowed range and default read from the model's
JSON schema; device lists (sensors, cameras) and the scale's calibration stay in the JSON editor.
A submitted form becomes the next desired overlay, which the same models judge before a push.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from protocol.gateway_settings import RemoteSettings

FORM_SECTIONS = ("outbox", "rules", "flock")  # merged key by key by the gateway; devices stay JSON
UNITS = {"_s": ("秒", "s"), "_h": ("小时", "h"), "_mb": ("MB", "MB"), "_c": ("°C", "°C"),
         "_ppm": ("ppm", "ppm"), "_days": ("天", "days")}

# (zh label, en label, zh help, en help) per setting.
LABELS: dict[str, tuple[str, str, str, str]] = {
    "utc_offset_h": ("时区（与UTC相差）", "Time zone (offset from UTC)", "中国为 8", "8 in China"),
    "telemetry_batch_s": ("数据上传间隔", "Upload interval", "多久把读数打包上传一次",
                          "How often readings are sent in one batch"),
    "health_interval_s": ("状态上报间隔", "Health report interval", "网关多久报告一次自身状态",
                          "How often the gateway reports its own health"),
    "summary_hour": ("称重日报时间", "Daily weighing summary at", "几点发送昨天的称重汇总（0.5 即 00:30）",
                     "Hour of the day for yesterday's weighing summary (0.5 = 00:30)"),
    "outbox.max_mb": ("断网缓存上限", "Outbox size limit", "断网时最多保存多少数据", "Most data kept while offline"),
    "outbox.frame_max_age_h": ("图片最长保存", "Keep frames for", "断网时图片最多保存多久",
                               "How long frames wait while offline"),
    "outbox.data_max_age_h": ("读数最长保存", "Keep readings for", "断网时读数最多保存多久",
                              "How long readings wait while offline"),
    "outbox.drain_per_s": ("恢复后补传速度", "Catch-up rate", "联网恢复后每秒补传多少条",
                           "Backlog messages per second after an outage"),
    "outbox.live_window_s": ("实时数据窗口", "Live window", "比这更新的数据优先发送",
                             "Newer data than this skips the backlog"),
    "outbox.receipt_timeout_s": ("回执等待时间", "Receipt timeout", "发出后多久没收到云端回执就重发",
                                 "Sent with no receipt from the cloud: send again after"),
    "rules.temperature_emergency_c": ("高温报警", "High temperature alarm", "网关本地报警的温度",
                                      "The gateway's own alarm temperature"),
    "rules.temperature_low_c": ("低温报警", "Low temperature alarm", "留空则不报低温",
                                "Empty: no low-temperature alarm"),
    "rules.nh3_critical_ppm": ("氨气报警", "Ammonia alarm", "网关本地报警的氨气浓度", "The gateway's own NH3 alarm"),
    "rules.co2_critical_ppm": ("二氧化碳报警", "CO₂ alarm", "网关本地报警的二氧化碳浓度", "The gateway's own CO₂ alarm"),
    "rules.repeat_after_s": ("报警重复间隔", "Repeat alarm after", "报警未解除时多久再提醒一次",
                             "A still-active alarm is repeated this often"),
    "flock.breed": ("品种", "Breed", "", ""),
    "flock.placed_on": ("入栏日期", "Placed on", "", ""),
    "flock.age_at_placement_days": ("入栏日龄", "Age at placement", "入栏时鸡的日龄", "The birds' age when placed"),
    "flock.house": ("鸡舍编号", "House id", "", ""),
}


@dataclass(frozen=True)
class ConfigField:
    name: str  # "outbox.max_mb"
    kind: str  # "number" | "integer" | "boolean" | "choice" | "date" | "text"
    default: Any
    minimum: float | None = None
    maximum: float | None = None
    exclusive_min: bool = False
    exclusive_max: bool = False
    choices: tuple[str, ...] = ()

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.name.split("."))

    def label(self, lang: str) -> str:
        return label_of(self.name, lang)

    def help(self, lang: str) -> str:
        words = LABELS.get(self.name)
        return "" if words is None else words[2 if lang == "zh-CN" else 3]

    def unit(self, lang: str) -> str:
        suffix = next((s for s in UNITS if self.name.endswith(s)), None)
        return "" if suffix is None else UNITS[suffix][0 if lang == "zh-CN" else 1]

    def range_text(self) -> str:
        if self.minimum is None and self.maximum is None:
            return ""
        low = "" if self.minimum is None else ("> " if self.exclusive_min else "≥ ") + _plain(self.minimum)
        high = "" if self.maximum is None else ("< " if self.exclusive_max else "≤ ") + _plain(self.maximum)
        return ", ".join(p for p in (low, high) if p)


def _plain(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _field(name: str, spec: dict[str, Any], defs: dict[str, Any]) -> ConfigField | None:
    options = [s for s in spec.get("anyOf", [spec]) if s.get("type") != "null"]
    if len(options) != 1 or "$ref" in options[0]:
        return None
    typed = options[0]
    kind = {"number": "number", "integer": "integer", "boolean": "boolean"}.get(typed.get("type", ""))
    choices: tuple[str, ...] = tuple(typed.get("enum", ()))
    if name.endswith("breed"):
        from protocol.device_settings import BREED_NAMES
        choices = tuple(BREED_NAMES)
    if choices:
        kind = "choice"
    elif typed.get("format") == "date":
        kind = "date"
    elif kind is None:
        if typed.get("type") != "string":
            return None
        kind = "text"
    low, high = typed.get("minimum", typed.get("exclusiveMinimum")), typed.get("maximum", typed.get("exclusiveMaximum"))
    return ConfigField(name, kind, spec.get("default"), low, high, "exclusiveMinimum" in typed,
                       "exclusiveMaximum" in typed, choices)


def config_fields() -> list[ConfigField]:
    schema = RemoteSettings.model_json_schema()
    defs = schema["$defs"]
    fields = []
    for name, spec in schema["properties"].items():
        section = _section_ref(spec)
        if section is None:
            f = _field(name, spec, defs)
            if f is not None:
                fields.append(f)
        elif name in FORM_SECTIONS:
            for key, sub in defs[section]["properties"].items():
                f = _field(f"{name}.{key}", sub, defs)
                if f is not None:
                    fields.append(f)
    return fields


def _section_ref(spec: dict[str, Any]) -> str | None:
    for option in spec.get("anyOf", [spec]):
        if "$ref" in option:
            return str(option["$ref"]).rsplit("/", 1)[-1]
    return None


def value_at(document: Mapping[str, Any] | None, path: tuple[str, ...]) -> Any:
    node: Any = document or {}
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


def overlay_from_form(old: Mapping[str, Any], form: Mapping[str, str]) -> tuple[dict[str, Any], list[str]]:
    """The next desired overlay: `old` with each form setting set, or dropped where left empty
    (the gateway then keeps its own file's value or the default). Device lists are kept as they are."""
    new: dict[str, Any] = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in old.items()}
    problems = []
    for f in config_fields():
        if f.name not in form:
            continue
        text = form[f.name].strip()
        try:
            value = _parse(f, text)
        except ValueError:
            problems.append(f"{f.name}: {text[:40]!r} is not {'a date' if f.kind == 'date' else 'a ' + f.kind}")
            continue
        _set(new, f.path, value)
    return new, problems


def _parse(f: ConfigField, text: str) -> Any:
    if text == "":
        return None
    if f.kind == "number":
        number = float(text)
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(text)
        return number
    if f.kind == "integer":
        return int(text)
    if f.kind == "boolean":
        if text not in ("true", "false"):
            raise ValueError(text)
        return text == "true"
    if f.kind == "date":
        return date.fromisoformat(text).isoformat()
    return text


def _set(document: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    *parents, leaf = path
    node = document
    for key in parents:
        child = node.get(key)
        if not isinstance(child, dict):
            if value is None:
                return
            child = node[key] = {}
        node = child
    if value is None:
        node.pop(leaf, None)
        if parents and not node:
            document.pop(parents[0], None)  # an emptied section leaves the overlay
    else:
        node[leaf] = value


def label_of(name: str, lang: str) -> str:
    """A setting's words for a diff line; a device path (sensors, cameras) stays as written."""
    words = LABELS.get(name)
    return name if words is None else words[0 if lang == "zh-CN" else 1]


def form_rows(current: Mapping[str, Any] | None, desired: Mapping[str, Any], lang: str) -> list[dict[str, Any]]:
    """One row per setting: label, unit, help, range, what the gateway applied, what is desired."""
    return [{"field": f, "label": f.label(lang), "unit": f.unit(lang), "help": f.help(lang),
             "range": f.range_text(), "applied": value_at(current, f.path), "desired": value_at(desired, f.path)}
            for f in config_fields()]
