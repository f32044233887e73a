"""Wire contract v1: topics, round trips, version compatibility, limits."""

from __future__ import annotations

import json

import pytest

import protocol as p
from protocol.codec import FRAME_MAGIC
from tests.foundation.samples import T0, samples, tiny_jpeg


@pytest.mark.parametrize("kind", list(p.Kind))
def test_every_payload_round_trips(kind: p.Kind) -> None:
    message = samples()[kind]
    decoded = p.decode(kind, p.encode(message))  # type: ignore[arg-type]
    assert decoded == message


def test_every_kind_has_a_sample_and_a_schema() -> None:
    assert set(samples()) == set(p.Kind) == set(p.MESSAGE_TYPES)


def test_topics_build_and_parse() -> None:
    topic = p.topic_for("gw-001", p.Kind.CONFIG_DESIRED)
    assert topic == "fhy/v1/gw-001/config/desired"
    assert p.parse_topic(topic) == p.Topic("gw-001", p.Kind.CONFIG_DESIRED)
    assert p.shared_subscription("ingest", "telemetry") == "$share/ingest/fhy/v1/+/telemetry"


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        ("fhy/v1/gw-001", "bad_topic"),
        ("other/v1/gw-001/telemetry", "bad_topic"),
        ("fhy/v2/gw-001/telemetry", "unsupported_version"),
        ("fhy/v1/gw 001/telemetry", "bad_gateway_id"),
        ("fhy/v1/+/telemetry", "bad_gateway_id"),
        ("fhy/v1/gw-001/unknown", "bad_topic"),
    ],
)
def test_bad_topics_name_their_problem(topic: str, reason: str) -> None:
    with pytest.raises(p.DecodeError) as info:
        p.parse_topic(topic)
    assert info.value.reason == reason


def test_older_minor_version_decodes() -> None:
    """A 1.0 sender has no `quality`, `dwell_s` or `clock_offset_s`; defaults fill in."""
    telemetry_v10 = {
        "v": "1.0", "gateway_id": "gw-old", "seq": 1, "sent_at": T0,
        "points": [{"ts": T0, "sensor": "th1", "metric": "temperature_c", "value": 21.0}],
    }
    decoded = p.decode("telemetry", json.dumps(telemetry_v10).encode())
    assert decoded.v == "1.0"
    assert decoded.points[0].quality == "ok"

    weighing_v10 = {"v": "1.0", "gateway_id": "gw-old", "seq": 2, "sent_at": T0, "scale": "s1",
                    "weights": [{"ts": T0, "g": 500.0}]}
    assert p.decode("weighing", json.dumps(weighing_v10).encode()).weights[0].dwell_s is None


def test_newer_minor_version_with_unknown_fields_decodes() -> None:
    future = {"v": "1.7", "gateway_id": "gw-new", "seq": 3, "ts": T0, "state": "online",
              "battery_pct": 80}
    assert p.decode("status", json.dumps(future).encode()).state == "online"


def test_other_major_version_is_refused() -> None:
    body = {"v": "2.0", "gateway_id": "gw", "seq": 3, "ts": T0, "state": "online"}
    with pytest.raises(p.DecodeError, match="unsupported schema version"):
        p.decode("status", json.dumps(body).encode())


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "bad_json"),
        (b"not json", "bad_json"),
        (b"[]", "invalid"),
        (b'{"v":"1.1","gateway_id":"gw","seq":-1,"sent_at":1780000000000,"points":[]}', "invalid"),
        (b" " * (p.LIMITS.max_json_bytes + 1), "too_large"),
    ],
)
def test_bad_json_payloads(payload: bytes, reason: str) -> None:
    with pytest.raises(p.DecodeError) as info:
        p.decode("telemetry", payload)
    assert info.value.reason == reason


def test_values_must_be_finite_and_timestamps_sane() -> None:
    body = {"v": "1.1", "gateway_id": "gw", "seq": 1, "sent_at": T0,
            "points": [{"ts": T0, "sensor": "s", "metric": "co2_ppm", "value": "NaN"}]}
    with pytest.raises(p.DecodeError):
        p.decode("telemetry", json.dumps(body).encode())
    body["points"] = [{"ts": 12, "sensor": "s", "metric": "co2_ppm", "value": 1.0}]
    with pytest.raises(p.DecodeError, match="ts"):
        p.decode("telemetry", json.dumps(body).encode())


def test_batch_size_limit_is_enforced() -> None:
    point = {"ts": T0, "sensor": "s", "metric": "co2_ppm", "value": 1.0}
    body = {"v": "1.1", "gateway_id": "gw", "seq": 1, "sent_at": T0,
            "points": [point] * (p.LIMITS.max_points_per_batch + 1)}
    with pytest.raises(p.DecodeError):
        p.decode("telemetry", json.dumps(body).encode())


def test_weighing_needs_content() -> None:
    body = {"v": "1.1", "gateway_id": "gw", "seq": 1, "sent_at": T0, "scale": "s1"}
    with pytest.raises(p.DecodeError, match="weights or summaries"):
        p.decode("weighing", json.dumps(body).encode())


def _frame(jpeg: bytes, **meta: object) -> bytes:
    fields = {"gateway_id": "gw", "seq": 1, "ts": T0, "camera": "c1", "width": 8, "height": 8,
              "size": len(jpeg)} | meta
    header = json.dumps(fields).encode()
    return FRAME_MAGIC + bytes([1]) + len(header).to_bytes(2, "big") + header + jpeg


def test_frame_checks() -> None:
    jpeg = tiny_jpeg()
    assert p.decode_frame(_frame(jpeg)).jpeg == jpeg
    cases = {
        b"XXXX" + _frame(jpeg)[4:]: "bad_frame",
        _frame(jpeg)[:-5]: "bad_frame",  # truncated image
        _frame(b"\x00" * 50, size=50): "bad_jpeg",
        _frame(jpeg, sha256="0" * 64): "bad_frame",
        _frame(jpeg)[:5]: "bad_frame",
    }
    for payload, reason in cases.items():
        with pytest.raises(p.DecodeError) as info:
            p.decode_frame(payload)
        assert info.value.reason == reason


def test_frame_major_version_checked() -> None:
    jpeg = tiny_jpeg()
    payload = bytearray(_frame(jpeg))
    payload[4] = 2
    with pytest.raises(p.DecodeError) as info:
        p.decode_frame(bytes(payload))
    assert info.value.reason == "unsupported_version"
