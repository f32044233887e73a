"""SMS templates as China's providers accept them: one reviewed template per alert kind.

Mainland SMS may only be sent through a template the provider approved in advance, with a
signature (2–12 characters) it approved too. Each variable carries a short value: Aliyun
allows 1–35 characters per variable and never two variables side by side; Tencent Cloud SMS
allows 12 characters per variable on personal accounts (6 on some; enterprise accounts have no
limit). The catalogue is designed for 12 characters, so one set of templates passes both
reviews; a stricter account limit shortens values at send time (`fit`).

Every alert message carries a four-digit reply code ("回复4821确认收到"): a reply quoting it
acknowledges that alert, which is how replies are matched where the provider's up-message
carries no message id (Aliyun SmsUp). Sources are cited in docs/alerts.md ("SMS providers").

The fixed text comes from the same wording as the free-text SMS (cloud/alerts/messages.py
for the condition, cloud/alerts/advice.py for what to do), so the two never drift apart.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cloud.alerts import model as m
from cloud.alerts.advice import ADVICE
from cloud.alerts.messages import SEVERITY_WORDS, TEMPLATES, MessageInput, message_fields

# Provider limits (characters per variable; signature length).
ALIYUN_VAR_MAX = 35
TENCENT_PERSONAL_VAR_MAX = 12
SIGN_MIN, SIGN_MAX = 2, 12
DESIGN_VAR_MAX = TENCENT_PERSONAL_VAR_MAX  # the stricter of the two: one catalogue for both

_NUMBER = 8  # "1234.5", "-12.3", "12345678": every number we print fits
VAR_MAX: dict[str, int] = {
    "level": 2,
    "place": 12,
    "code": 4,
    "region": 12,
    "subject": 12,
    "camera": 12,
    "day": 10,
    "column": 6,
    "written": 8,
    "band_zh": 2,
}
VAR_EXAMPLE: dict[str, str] = {
    "level": "紧急",
    "place": "李家坪鸡场2号舍",
    "code": "4821",
    "region": "青华镇",
    "subject": "gw-0007",
    "camera": "cam-1",
    "day": "2026-12-05",
    "column": "eggs",
    "written": "3050",
    "band_zh": "危险",
    "count": "5",
    "deaths": "42",
    "pct": "2.1",
    "days": "3",
    "hours": "6",
    "mean_g": "1480",
    "expected_g": "1783",
    "gain_48h_g": "60",
    "uniformity_pct": "68",
    "nh3_ppm": "32",
    "value": "3",
    "threshold": "20",
}
# Values from the tail are the distinctive part of an id ("…ping-gw-0007").
_KEEP_TAIL = frozenset({"subject", "camera"})
_VAR = re.compile(r"\$\{([A-Za-z][A-Za-z0-9_]*)\}")
# Characters a variable must not carry: brackets read as a signature, braces as a variable.
_FORBIDDEN = str.maketrans({c: None for c in "【】[]{}$\r\n"})

DIGEST_KIND = "digest"
REPLY_CODE_DIGITS = 4


@dataclass(frozen=True)
class Variable:
    name: str
    max_len: int
    example: str


@dataclass(frozen=True)
class SmsTemplate:
    """One template to submit for review. `content` uses Aliyun's `${name}` syntax; Tencent's
    numbered `{1}`, `{2}` form is `tencent_content` (the same text, variables in order)."""

    name: str
    kind: str
    rule: str | None
    content: str
    variables: tuple[Variable, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variables)

    @property
    def tencent_content(self) -> str:
        order = {name: i + 1 for i, name in enumerate(self.names)}
        return _VAR.sub(lambda mt: "{" + str(order[mt.group(1)]) + "}", self.content)

    def fill(self, params: Mapping[str, str]) -> str:
        return _VAR.sub(lambda mt: params[mt.group(1)], self.content)

    def example_params(self) -> dict[str, str]:
        return {v.name: v.example for v in self.variables}


@dataclass(frozen=True)
class RenderedSms:
    """What the outbox keeps: the template, its values (each within limits) and the text the
    recipient will read (signature included), which also counts the segments."""

    template: str
    params: dict[str, str]
    text: str
    reply_code: str | None


def template_name(kind: str, rule: str | None = None) -> str:
    suffix = f"_{rule}" if rule else ""
    return "FHY_" + re.sub(r"[^A-Za-z0-9]+", "_", kind + suffix).upper()


def _variables(content: str) -> tuple[Variable, ...]:
    names = list(dict.fromkeys(_VAR.findall(content)))
    return tuple(
        Variable(n, VAR_MAX.get(n, _NUMBER), VAR_EXAMPLE.get(n, "3")) for n in names
    )


def _aliyun_body(body: str) -> str:
    return re.sub(r"\{([A-Za-z][A-Za-z0-9_]*)\}", r"${\1}", body)


def _make(kind: str, rule: str | None, advice: str) -> SmsTemplate:
    body = _aliyun_body(TEMPLATES[kind][0])
    if kind == m.REGIONAL_OUTBREAK:  # a region, not a farm: the body names it
        content = f"${{level}}：{body}。{advice}回复${{code}}确认收到。"
    else:
        content = f"${{level}}：${{place}}，{body}。{advice}回复${{code}}确认收到。"
    return SmsTemplate(template_name(kind, rule), kind, rule, content, _variables(content))


def _catalogue() -> dict[str, SmsTemplate]:
    out: dict[str, SmsTemplate] = {}
    for kind in TEMPLATES:
        base = ADVICE.get(kind)
        out[template_name(kind)] = _make(kind, None, base[0] if base else "")
    for key, (zh, _en) in ADVICE.items():
        kind, _, rule = key.partition(":")
        if rule and kind in TEMPLATES:
            out[template_name(kind, rule)] = _make(kind, rule, zh)
    digest = "您有${count}条养殖提醒未单独发短信，涉及${place}等，请打开富慧养应用查看。"
    out[template_name(DIGEST_KIND)] = SmsTemplate(
        template_name(DIGEST_KIND), DIGEST_KIND, None, digest, _variables(digest)
    )
    generic = "${level}：${place}，有一条养殖提醒，请打开富慧养应用查看。回复${code}确认收到。"
    out["FHY_GENERIC"] = SmsTemplate("FHY_GENERIC", "*", None, generic, _variables(generic))
    return out


CATALOGUE: dict[str, SmsTemplate] = _catalogue()


def template_for(kind: str, rule: str | None = None) -> SmsTemplate:
    """The template for an alert: its rule's variant where the advice depends on the rule."""
    if rule and (t := CATALOGUE.get(template_name(kind, rule))) is not None:
        return t
    return CATALOGUE.get(template_name(kind)) or CATALOGUE["FHY_GENERIC"]


def check_template(content: str, var_max: int = ALIYUN_VAR_MAX) -> list[str]:
    """What a reviewer would refuse in a template's content (empty: acceptable)."""
    problems = []
    if re.search(r"\}\s*\$\{", content):
        problems.append("two variables are adjacent")
    if "【" in content or "】" in content:
        problems.append("【】 belongs to the signature, not the template")
    if not _VAR.sub("", content).strip():
        problems.append("a template of variables only")
    if len(content) > 500:
        problems.append("longer than 500 characters")
    for name in _VAR.findall(content):
        if name.lower() in ("email", "mobile", "id", "nick", "site"):
            problems.append(f"variable name {name!r} is reserved")
    for v in _variables(content):
        if v.max_len > var_max:
            problems.append(f"variable {v.name} allows {v.max_len} > {var_max} characters")
    return problems


def check_signature(sign: str) -> str | None:
    if not SIGN_MIN <= len(sign) <= SIGN_MAX:
        return f"signature {sign!r} must be {SIGN_MIN}-{SIGN_MAX} characters"
    if not re.fullmatch(r"[\w\u4e00-\u9fff]+", sign):
        return f"signature {sign!r} may hold Chinese, letters and digits only"
    return None


def fit(name: str, value: Any, limit: int) -> str:
    """A value within `limit` characters (at least one): long ones are cut with an ellipsis."""
    text = str(value if value is not None else "").translate(_FORBIDDEN).strip() or "-"
    if len(text) <= limit:
        return text
    if name in _KEEP_TAIL:
        return "…" + text[-(limit - 1):]
    return text[: limit - 1] + "…"


def fit_params(
    template: SmsTemplate, values: Mapping[str, Any], var_max: int = DESIGN_VAR_MAX
) -> dict[str, str]:
    return {
        v.name: fit(v.name, values.get(v.name), min(v.max_len, var_max))
        for v in template.variables
    }


def signed(sign: str, content: str) -> str:
    return f"【{sign}】{content}"


def template_text(sign: str, template: str, params: Mapping[str, str]) -> str:
    """The text a provider builds from an approved template and its values."""
    found = CATALOGUE.get(template)
    if found is None:
        return ""
    return signed(sign, found.fill({v.name: params.get(v.name, "-") for v in found.variables}))


def render_alert(
    msg: MessageInput, reply_code: str, sign: str, var_max: int = DESIGN_VAR_MAX
) -> RenderedSms:
    template = template_for(msg.kind, msg.rule)
    values: dict[str, Any] = dict(message_fields(msg))
    values.update(level=SEVERITY_WORDS[msg.severity][0], place=msg.place, code=reply_code)
    params = fit_params(template, values, var_max)
    return RenderedSms(template.name, params, signed(sign, template.fill(params)), reply_code)


def render_digest_sms(count: int, place: str, sign: str, var_max: int = DESIGN_VAR_MAX) -> RenderedSms:
    template = CATALOGUE[template_name(DIGEST_KIND)]
    params = fit_params(template, {"count": count, "place": place or "您的鸡场"}, var_max)
    return RenderedSms(template.name, params, signed(sign, template.fill(params)), None)


def reply_code(alert_id: str, taken: Iterable[str]) -> str:
    """A code for this alert that no other recent alert to the same phone uses.

    Derived from the alert id, so a repeat of the same alert quotes the same code; moved to
    the next free number on a clash.
    """
    used = set(taken)
    span = 10**REPLY_CODE_DIGITS - 10 ** (REPLY_CODE_DIGITS - 1)
    start = int(hashlib.sha256(alert_id.encode()).hexdigest()[:8], 16) % span
    for step in range(span):
        code = str(10 ** (REPLY_CODE_DIGITS - 1) + (start + step) % span)
        if code not in used:
            return code
    raise ValueError("every reply code is in use for this phone")  # 9,000 live alerts: never


_CODE_IN_REPLY = re.compile(r"(?<!\d)(\d{4})(?!\d)")


def code_in_reply(text: str) -> str | None:
    """The reply code a farmer quoted ("4821", "回复4821", "收到 4821。"), if any."""
    found = _CODE_IN_REPLY.findall(unicodedata.normalize("NFKC", text))
    return found[0] if len(found) == 1 else None
