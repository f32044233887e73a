"""Bad input gets a clear error of one kind, never a crash: parsers under random input."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.alerts.records import RecordsError, parse_records
from cloud.notify.inbound import (
    WebhookError,
    parse_aliyun,
    parse_generic,
    parse_twilio,
    sign_generic,
)

NOW = datetime(2025, 3, 1, tzinfo=UTC)
SECRET = b"s"
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
def test_generic_webhook_only_raises_webhook_errors(body: bytes) -> None:
    stamp = int(NOW.timestamp())
    headers = {
        "X-Fuhuiyang-Signature": sign_generic(body, SECRET, stamp),
        "X-Fuhuiyang-Timestamp": str(stamp),
    }
    try:
        parse_generic(body, headers, SECRET, NOW)
    except WebhookError as exc:
        assert exc.status in (400, 401, 413) and exc.reason


@settings(max_examples=100, deadline=None)
@given(json_values.map(lambda v: json.dumps(v).encode()))
def test_aliyun_push_only_raises_webhook_errors(body: bytes) -> None:
    try:
        parse_aliyun(body, "t", "t")
    except WebhookError as exc:
        assert exc.status == 400


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["MessageSid", "MessageStatus", "SmsStatus", "From", "Body", "x"]),
        st.text(max_size=10),
    )
)
def test_twilio_only_raises_webhook_errors(form: dict[str, str]) -> None:
    from cloud.notify.inbound import twilio_signature

    try:
        parse_twilio("https://x/y", form, twilio_signature("https://x/y", form, "k"), "k")
    except WebhookError as exc:
        assert exc.status == 400


cells = st.one_of(
    st.text(max_size=8),
    st.integers(-5, 10_000).map(str),
    st.floats(allow_nan=True).map(str),
    st.just(""),
    st.dates().map(str),
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.lists(cells, min_size=0, max_size=5), max_size=12),
    st.sampled_from([",", ";", "\t"]),
)
def test_records_parser_only_raises_records_errors(rows: list[list[str]], sep: str) -> None:
    text = "\n".join(
        sep.join(c.replace(sep, " ").replace("\n", " ") for c in row)
        for row in [["date", "deaths", "water_l"], *rows]
    )
    try:
        parsed = parse_records(text)
    except RecordsError:
        return
    days = [r.day for r in parsed.records]
    assert days == sorted(set(days)) and all(r.deaths >= 0 for r in parsed.records)
