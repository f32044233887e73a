"""HTML number inputs from the API's own schema, and their values checked by that schema.

The page's checks (`min`, `max`, `step`) and the server's are the same rules: both come from the
pydantic model the JSON API validates with, so a form can never allow what the API refuses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

from cloud.api.errors import invalid
from cloud.web.i18n import translator

M = TypeVar("M", bound=BaseModel)
ZH, EN = translator("zh-CN"), translator("en")


@dataclass(frozen=True)
class NumberRule:
    field: str
    integer: bool
    minimum: float | None
    maximum: float | None

    @property
    def step(self) -> str:
        return "1" if self.integer else "any"

    @property
    def inputmode(self) -> str:
        return "numeric" if self.integer else "decimal"

    def bounds(self) -> str:
        return f"{_plain(self.minimum)}–{_plain(self.maximum)}"


def number_rules(model: type[BaseModel]) -> list[NumberRule]:
    """One rule per numeric field, in the model's order."""
    rules = []
    for name, spec in model.model_json_schema()["properties"].items():
        typed = next((s for s in spec.get("anyOf", [spec]) if s.get("type") in ("integer", "number")), None)
        if typed is not None:
            rules.append(NumberRule(name, typed["type"] == "integer", typed.get("minimum"), typed.get("maximum")))
    return rules


def parse_numbers(model: type[M], raw: Mapping[str, str | None]) -> M:
    """The form's text fields as `model`, or a 422 naming the first bad field in both languages."""
    values: dict[str, Any] = {}
    for rule in number_rules(model):
        text = (raw.get(rule.field) or "").strip()
        if not text:
            continue
        number = _number(text, rule.integer)
        out_of_range = number is not None and (
            (rule.minimum is not None and number < rule.minimum)
            or (rule.maximum is not None and number > rule.maximum))
        if number is None or out_of_range:
            raise _bad(rule, text)
        values[rule.field] = number
    return model(**values)


def _plain(limit: float | None) -> str:
    if limit is None:
        return ""
    return str(int(limit)) if float(limit).is_integer() else f"{limit:g}"


def _number(text: str, integer: bool) -> int | float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):
        return None
    if integer:
        return int(number) if number.is_integer() else None
    return number


def _bad(rule: NumberRule, text: str) -> Exception:
    kind_zh, kind_en = ("整数", "a whole number") if rule.integer else ("数字", "a number")
    return invalid(f"“{ZH(rule.field)}”填的是 {text[:20]}，应为 {rule.bounds()} 之间的{kind_zh}",
                   f"{EN(rule.field)}: {text[:20]!r} must be {kind_en} in {rule.bounds()}",
                   {"field": rule.field})
