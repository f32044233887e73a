"""Topic layout: ``fhy/v1/<gateway_id>/<kind>``.

Gateways publish only under their own id and read only their own desired config and receipts;
the broker ACLs in cloud.provisioning are written from these same patterns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from protocol.errors import DecodeError
from protocol.limits import LIMITS

PREFIX = "fhy"
VERSION = "v1"
GATEWAY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class Kind(StrEnum):
    TELEMETRY = "telemetry"
    WEIGHING = "weighing"
    FRAME = "frame"
    STATUS = "status"
    HEALTH = "health"
    ALERT = "alert"
    CONFIG_DESIRED = "config/desired"
    CONFIG_APPLIED = "config/applied"
    RECEIPT = "receipt"  # 1.2: cloud -> gateway, what the cloud has stored
    RELEASE_DESIRED = "release/desired"  # 1.3: cloud -> gateway, retained: the agent release to run
    RELEASE_STATE = "release/state"  # 1.3: gateway -> cloud, each step of an over-the-air update
    ALARM_ACK = "alarm/ack"  # 1.3: cloud -> gateway, a person acknowledged its alarm in the app


# Kinds the cloud publishes to one gateway (only that gateway may read them); the rest is uplink.
DOWNLINK_KINDS = frozenset({Kind.CONFIG_DESIRED, Kind.RECEIPT, Kind.RELEASE_DESIRED, Kind.ALARM_ACK})
UPLINK_KINDS = frozenset(Kind) - DOWNLINK_KINDS


@dataclass(frozen=True)
class Topic:
    gateway_id: str
    kind: Kind
    version: str = VERSION

    def __str__(self) -> str:
        return f"{PREFIX}/{self.version}/{self.gateway_id}/{self.kind.value}"


def validate_gateway_id(gateway_id: str) -> str:
    if not isinstance(gateway_id, str) or not GATEWAY_ID.match(gateway_id):
        raise DecodeError(
            "bad_gateway_id",
            f"gateway id must be 1-{LIMITS.max_id_length} of [A-Za-z0-9_-], got {gateway_id!r:.80}",
        )
    return gateway_id


def topic_for(gateway_id: str, kind: Kind | str) -> str:
    return str(Topic(validate_gateway_id(gateway_id), Kind(kind)))


def parse_topic(topic: str) -> Topic:
    parts = topic.split("/", 3)
    if len(parts) != 4 or parts[0] != PREFIX:
        raise DecodeError("bad_topic", f"not a {PREFIX}/<version>/<gateway>/<kind> topic: {topic!r:.120}")
    _, version, gateway_id, kind = parts
    if version != VERSION:
        raise DecodeError("unsupported_version", f"topic version {version!r:.20} (this build speaks {VERSION})")
    validate_gateway_id(gateway_id)
    try:
        return Topic(gateway_id, Kind(kind), version)
    except ValueError:
        raise DecodeError("bad_topic", f"unknown message kind {kind!r:.40}") from None


def subscription(kind: Kind | str, gateway_id: str = "+") -> str:
    return f"{PREFIX}/{VERSION}/{gateway_id}/{Kind(kind).value}"


def shared_subscription(group: str, kind: Kind | str) -> str:
    """MQTT v5 shared subscription so several workers split one stream."""
    return f"$share/{group}/{subscription(kind)}"
