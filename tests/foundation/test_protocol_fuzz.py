"""Property-based: no input makes a decoder raise anything but DecodeError."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import protocol as p
from tests.foundation.samples import encoded_samples

ENCODED = encoded_samples()
KINDS = list(p.Kind)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _decode_must_only_raise_decode_error(kind: p.Kind, payload: bytes) -> None:
    try:
        p.decode(kind, payload)
    except p.DecodeError as exc:
        assert exc.reason and exc.detail


@FUZZ
@given(kind=st.sampled_from(KINDS), payload=st.binary(max_size=4096))
def test_arbitrary_bytes(kind: p.Kind, payload: bytes) -> None:
    _decode_must_only_raise_decode_error(kind, payload)


@FUZZ
@given(kind=st.sampled_from(KINDS), data=st.data())
def test_mutated_valid_messages(kind: p.Kind, data: st.DataObject) -> None:
    payload = bytearray(ENCODED[kind])
    for _ in range(data.draw(st.integers(1, 8))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        pos = data.draw(st.integers(0, max(len(payload) - 1, 0)))
        if op == "flip" and payload:
            payload[pos] ^= data.draw(st.integers(1, 255))
        elif op == "insert":
            payload[pos:pos] = data.draw(st.binary(min_size=1, max_size=16))
        elif op == "delete" and payload:
            del payload[pos : pos + data.draw(st.integers(1, 16))]
        elif op == "truncate":
            del payload[pos:]
    _decode_must_only_raise_decode_error(kind, bytes(payload))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@FUZZ
@given(kind=st.sampled_from([k for k in KINDS if k is not p.Kind.FRAME]), data=st.data())
def test_valid_json_with_replaced_fields(kind: p.Kind, data: st.DataObject) -> None:
    body = json.loads(ENCODED[kind])
    key = data.draw(st.sampled_from(sorted(body)))
    body[key] = data.draw(json_values)
    _decode_must_only_raise_decode_error(kind, json.dumps(body).encode())


@pytest.mark.parametrize("kind", KINDS)
def test_non_bytes_payload(kind: p.Kind) -> None:
    with pytest.raises(p.DecodeError):
        p.decode(kind, "a string, not bytes")  # type: ignore[arg-type]
