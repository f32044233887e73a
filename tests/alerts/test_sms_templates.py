"""The template catalogue: one approved template per alert kind, every value within the
providers' limits whatever the alert says (property test), and the review rules met."""

from __future__ import annotations

import json

from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.alerts.messages import TEMPLATES, MessageInput
from cloud.alerts.model import ALL_TYPES, Severity
from cloud.notify.segments import count_segments
from cloud.notify.templates import (
    ALIYUN_VAR_MAX,
    CATALOGUE,
    TENCENT_PERSONAL_VAR_MAX,
    check_signature,
    check_template,
    fit_params,
    render_alert,
    template_for,
)
from fuhuiyang.commands.alerts import alerts

_ANY_TEXT = st.text(min_size=0, max_size=80)  # any characters, empty to far too long
_ANY_VALUE = st.one_of(_ANY_TEXT, st.integers(-10**9, 10**9), st.floats(allow_nan=True), st.none())


def test_every_alert_kind_has_its_own_template_that_passes_review() -> None:
    for kind in ALL_TYPES:
        template = template_for(kind)
        assert template.kind == kind, kind
    assert set(TEMPLATES) <= {t.kind for t in CATALOGUE.values()}
    for template in CATALOGUE.values():
        assert check_template(template.content, TENCENT_PERSONAL_VAR_MAX) == [], template.name
        assert "code" in template.names or template.kind == "digest"
        assert template.tencent_content.count("{") == len(template.variables)
    assert check_template("温度${value}${unit}") == ["two variables are adjacent"]
    assert check_signature("富慧养") is None and check_signature("富") and check_signature("富慧养" * 5)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(sorted(CATALOGUE)),
    values=st.dictionaries(st.sampled_from(["level", "place", "code", "region", "subject", "camera", "day",
                                            "column", "written", "band_zh", "count", "deaths", "pct", "days",
                                            "hours", "mean_g", "expected_g", "gain_48h_g", "uniformity_pct",
                                            "nh3_ppm", "value", "threshold"]), _ANY_VALUE),
    var_max=st.sampled_from([6, TENCENT_PERSONAL_VAR_MAX, ALIYUN_VAR_MAX]),
)
def test_every_template_renders_within_limits_for_worst_case_values(
    kind: str, values: dict[str, object], var_max: int
) -> None:
    template = CATALOGUE[kind]
    params = fit_params(template, values, var_max)
    assert set(params) == set(template.names)  # never a missing variable
    for name, value in params.items():
        assert 1 <= len(value) <= min(var_max, TENCENT_PERSONAL_VAR_MAX), (name, value)
        assert not set(value) & set("【】{}$"), value  # nothing read as a signature or variable
    text = "【富慧养】" + template.fill(params)
    assert count_segments(text).count <= 2  # a basic phone shows it whole, even with every value full


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(ALL_TYPES),
    severity=st.sampled_from(list(Severity)),
    value=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    evidence=st.dictionaries(st.sampled_from(["deaths", "pct", "days", "mean_g", "band", "hours", "column",
                                              "written", "day", "camera", "nh3_ppm"]), _ANY_VALUE),
    place=_ANY_TEXT,
    region=st.one_of(st.none(), _ANY_TEXT),
    subject=st.one_of(st.none(), _ANY_TEXT),
)
def test_every_alert_renders_through_its_template(
    kind: str, severity: Severity, value: float | None, evidence: dict[str, object], place: str,
    region: str | None, subject: str | None,
) -> None:
    msg = MessageInput(kind=kind, severity=severity, value=value, threshold=20.0, evidence=evidence,
                       place=place, region=region, subject=subject)
    sms = render_alert(msg, "4821", "富慧养")
    assert sms.template == template_for(kind).name
    assert all(1 <= len(v) <= TENCENT_PERSONAL_VAR_MAX for v in sms.params.values())
    assert sms.text.startswith("【富慧养】") and "回复4821确认收到" in sms.text


def test_the_templates_command_lists_what_to_submit_per_provider() -> None:
    out = CliRunner().invoke(alerts, ["templates", "--provider", "tencent", "--json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    assert {r["name"] for r in rows} == set(CATALOGUE)
    mortality = next(r for r in rows if r["name"] == "FHY_MORTALITY")
    assert mortality["content"].startswith("{1}：{2}，24小时死亡{3}只")
    assert [v["max_len"] for v in mortality["variables"]] == [2, 12, 8, 8, 4]
    assert mortality["example"].startswith("【富慧养】紧急：李家坪鸡场2号舍")
    aliyun = json.loads(CliRunner().invoke(alerts, ["templates", "--provider", "aliyun", "--json"]).stdout)
    assert next(r for r in aliyun if r["name"] == "FHY_MORTALITY")["content"].startswith("${level}：${place}")
    text = CliRunner().invoke(alerts, ["templates", "--provider", "aliyun"]).stdout
    assert "FHY_MORTALITY" in text and "place ≤12" in text
