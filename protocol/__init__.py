"""The wire contract v1: topics, payload schemas and codec shared by edge, cloud and simulator.

Only this package is imported by both edge and cloud. See docs/protocol.md.
"""

from protocol.codec import decode, decode_frame, encode, encode_frame
from protocol.errors import DecodeError
from protocol.limits import LIMITS
from protocol.messages import (
    MESSAGE_TYPES,
    SCHEMA_VERSION,
    AlarmAck,
    Alert,
    AppliedConfig,
    DesiredConfig,
    Frame,
    FrameMeta,
    GatewayStatus,
    Health,
    Metric,
    Reading,
    Receipt,
    ReleaseDesired,
    ReleaseManifest,
    ReleaseState,
    Telemetry,
    Weighing,
    WeighingSummary,
    Weight,
)
from protocol.topics import Kind, Topic, parse_topic, shared_subscription, topic_for

__all__ = [
    "LIMITS",
    "MESSAGE_TYPES",
    "SCHEMA_VERSION",
    "AlarmAck",
    "Alert",
    "AppliedConfig",
    "DecodeError",
    "DesiredConfig",
    "Frame",
    "FrameMeta",
    "GatewayStatus",
    "Health",
    "Kind",
    "Metric",
    "Reading",
    "Receipt",
    "ReleaseDesired",
    "ReleaseManifest",
    "ReleaseState",
    "Telemetry",
    "Topic",
    "Weighing",
    "WeighingSummary",
    "Weight",
    "decode",
    "decode_frame",
    "encode",
    "encode_frame",
    "parse_topic",
    "shared_subscription",
    "topic_for",
]
