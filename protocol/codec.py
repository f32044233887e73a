"""Encoding and decoding. JSON for everything but frames; frames are a small binary envelope.

Frame layout (works over MQTT 3.1.1, which has no user properties):
    b"FHYF" | u8 major | u16 big-endian header length | header JSON (FrameMeta) | JPEG bytes
"""

from __future__ import annotations

import hashlib
import struct
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from protocol.errors import DecodeError
from protocol.limits import LIMITS
from protocol.messages import MAJOR, MESSAGE_TYPES, DesiredConfig, Frame, FrameMeta
from protocol.topics import Kind

FRAME_MAGIC = b"FHYF"
_FRAME_PREFIX = struct.Struct(">4sBH")
_JPEG_SOI = b"\xff\xd8\xff"
_JPEG_EOI = b"\xff\xd9"

M = TypeVar("M", bound=BaseModel)


def encode(message: BaseModel) -> bytes:
    """JSON bytes for any non-frame message (frames: use encode_frame)."""
    if isinstance(message, Frame):
        return encode_frame(message.meta, message.jpeg)
    return message.model_dump_json(exclude_none=True).encode()


def decode(kind: Kind | str, payload: bytes) -> Any:
    """Decode a payload of the given kind; raises only DecodeError."""
    try:
        kind = Kind(kind)
    except ValueError:
        raise DecodeError("bad_topic", f"unknown message kind {kind!r:.40}") from None
    if kind is Kind.FRAME:
        return decode_frame(payload)
    return _decode_json(MESSAGE_TYPES[kind], payload, LIMITS.max_json_bytes)


def _decode_json(model: type[M], payload: bytes, max_bytes: int) -> M:
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise DecodeError("bad_type", f"payload must be bytes, got {type(payload).__name__}")
    if len(payload) > max_bytes:
        raise DecodeError("too_large", f"{len(payload)} bytes > limit {max_bytes}")
    try:
        message = model.model_validate_json(bytes(payload))
    except ValidationError as exc:
        raise DecodeError(_reason(exc), _summary(exc)) from None
    except (ValueError, TypeError, RecursionError) as exc:  # defensive: parser edge cases
        raise DecodeError("bad_json", str(exc)[:200]) from None
    if isinstance(message, DesiredConfig) and len(payload) > LIMITS.max_config_bytes:
        raise DecodeError("too_large", f"config of {len(payload)} bytes > {LIMITS.max_config_bytes}")
    return message


def _reason(exc: ValidationError) -> str:
    kinds = {error["type"] for error in exc.errors()}
    return "bad_json" if kinds & {"json_invalid", "json_type"} else "invalid"


def _summary(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "message"
        parts.append(f"{where}: {error['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


def encode_frame(meta: FrameMeta, jpeg: bytes) -> bytes:
    if meta.size != len(jpeg):
        raise ValueError(f"meta.size {meta.size} != len(jpeg) {len(jpeg)}")
    header = meta.model_dump_json(exclude_none=True).encode()
    if len(header) > LIMITS.max_frame_header_bytes:
        raise ValueError("frame header too large")
    return _FRAME_PREFIX.pack(FRAME_MAGIC, MAJOR, len(header)) + header + jpeg


def decode_frame(payload: bytes) -> Frame:
    if not isinstance(payload, (bytes, bytearray, memoryview)):
        raise DecodeError("bad_type", f"payload must be bytes, got {type(payload).__name__}")
    payload = bytes(payload)
    limit = LIMITS.max_frame_bytes + LIMITS.max_frame_header_bytes + _FRAME_PREFIX.size
    if len(payload) > limit:
        raise DecodeError("too_large", f"frame message of {len(payload)} bytes > limit {limit}")
    if len(payload) < _FRAME_PREFIX.size:
        raise DecodeError("bad_frame", "shorter than the frame prefix")
    magic, major, header_len = _FRAME_PREFIX.unpack_from(payload)
    if magic != FRAME_MAGIC:
        raise DecodeError("bad_frame", "missing FHYF magic")
    if major != MAJOR:
        raise DecodeError("unsupported_version", f"frame major {major}; this build decodes {MAJOR}")
    if header_len > LIMITS.max_frame_header_bytes:
        raise DecodeError("bad_frame", f"header length {header_len} > {LIMITS.max_frame_header_bytes}")
    start = _FRAME_PREFIX.size
    header = payload[start : start + header_len]
    jpeg = payload[start + header_len :]
    if len(header) != header_len:
        raise DecodeError("bad_frame", "truncated header")
    meta = _decode_json(FrameMeta, header, LIMITS.max_frame_header_bytes)
    if len(jpeg) != meta.size:
        raise DecodeError("bad_frame", f"image is {len(jpeg)} bytes, header says {meta.size}")
    if not jpeg.startswith(_JPEG_SOI) or not jpeg.rstrip(b"\x00").endswith(_JPEG_EOI):
        raise DecodeError("bad_jpeg", "image is not a complete JPEG (SOI/EOI markers)")
    if meta.sha256 is not None and hashlib.sha256(jpeg).hexdigest() != meta.sha256:
        raise DecodeError("bad_frame", "sha256 does not match the image")
    return Frame(meta=meta, jpeg=jpeg)
