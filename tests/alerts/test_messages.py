from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from cloud.alerts.advice import ADVICE, advice_for
from cloud.alerts.messages import TEMPLATES, MessageInput, place_label, render, render_digest
from cloud.alerts.model import ALL_TYPES, MORTALITY, TEMPERATURE_BAND, Severity
from cloud.notify.segments import count_segments
from fuhuiyang.commands.alerts import alerts


def test_every_alert_type_has_a_template_and_advice_in_both_languages() -> None:
    for kind in ALL_TYPES:
        assert kind in TEMPLATES
        for lang in ("zh-CN", "en"):
            assert advice_for(
                kind, "too_cold" if kind == TEMPERATURE_BAND else "humidity_low", lang
            )
    assert all(zh and en for zh, en in ADVICE.values())


def test_zh_sms_fits_two_segments_with_a_long_farm_name() -> None:
    result = CliRunner().invoke(alerts, ["templates", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert len(rows) == len(ALL_TYPES)
    for row in rows:
        assert row["encoding"] == "UCS-2"
        assert row["segments"] <= 2, row["text"]


def test_english_sms_stays_gsm7() -> None:
    rows = json.loads(CliRunner().invoke(alerts, ["templates", "--lang", "en", "--json"]).stdout)
    for row in rows:
        assert row["encoding"] == "GSM-7", row["text"]
        assert row["segments"] <= 2, row["text"]


def test_mortality_message_reads_naturally() -> None:
    msg = MessageInput(
        kind=MORTALITY,
        severity=Severity.CRITICAL,
        value=2.5,
        evidence={"deaths": 25, "pct": 2.5},
        place=place_label("李家坪", "2"),
    )
    text = render(msg)
    assert text.startswith("【富慧养】紧急李家坪2号舍：24小时死亡25只(2.5%)")
    assert "回复1确认" in text
    assert "?" not in text
    en = render(
        MessageInput(
            kind=MORTALITY, severity=Severity.WARNING, evidence={"deaths": 25, "pct": 2.5}
        ),
        "en",
    )
    assert en.startswith("Fuhuiyang: Warning: 25 dead in 24 h (2.5%)")


def test_missing_fields_render_as_question_marks_not_crashes() -> None:
    assert "?" in render(MessageInput(kind=MORTALITY, severity=Severity.WARNING))


def test_unknown_language_is_rejected() -> None:
    with pytest.raises(ValueError, match="unsupported language"):
        render(MessageInput(kind=MORTALITY, severity=Severity.WARNING), "fr")


def test_digest() -> None:
    assert render_digest(7, "李家坪") == "【富慧养】李家坪：另有7条提醒未发短信，请在应用中查看"


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("{" * 80, "GSM-7", 160, 1),  # extension characters take two septets
        ("€" + "a" * 159, "GSM-7", 161, 2),
        ("鸡" * 70, "UCS-2", 70, 1),
        ("鸡" * 71, "UCS-2", 71, 2),
        ("鸡" * 134, "UCS-2", 134, 2),
        ("鸡" * 135, "UCS-2", 135, 3),
        ("a" * 69 + "°", "UCS-2", 70, 1),  # one non-GSM character switches the whole text
        ("🐔" * 35, "UCS-2", 70, 1),  # astral characters are two UTF-16 units
    ],
)
def test_segment_counting(text: str, encoding: str, units: int, segments: int) -> None:
    seg = count_segments(text)
    assert (seg.encoding, seg.units, seg.count) == (encoding, units, segments)


def test_cost_per_segment() -> None:
    assert count_segments("鸡" * 71).cost(0.045) == pytest.approx(0.09)
