"""Validating a desired gateway config before it is pushed, and diffing it against the last one.

The document is a partial overlay the gateway deep-merges over its local `gateway.yaml` (lists
replace). It is judged with the gateway's own settings models from the wire contract
(protocol.gateway_settings.RemoteSettings, which edge/config.py builds its settings from), so
the cloud refuses what the gateway would refuse; identity, broker, clock and paths are local
only and are not part of that model, so they are refused here. Unknown keys are refused everywhere.
"""

from __future__ import annotations

import json
from typing import Any

from protocol.gateway_settings import overlay_problems
from protocol.limits import LIMITS


def validate(config: Any) -> list[str]:
    """Problems with a desired config, as human lines (empty when it may be pushed)."""
    if not isinstance(config, dict):
        return [f"the config must be a JSON object, got {type(config).__name__}"]
    if not config:
        return ["the config is empty"]
    size = len(json.dumps(config).encode())
    if size > LIMITS.max_config_bytes:
        return [f"config of {size} bytes is over the {LIMITS.max_config_bytes} byte limit"]
    return overlay_problems(config)


def diff(old: Any, new: Any, path: str = "") -> list[dict[str, Any]]:
    """Changed leaves between two JSON documents: [{"path", "old", "new"}], dicts walked by key."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[dict[str, Any]] = []
        for key in sorted(set(old) | set(new), key=str):
            sub = f"{path}.{key}" if path else str(key)
            # A section added or removed whole is still told leaf by leaf.
            before = old.get(key, {} if isinstance(new.get(key), dict) else None)
            after = new.get(key, {} if isinstance(old.get(key), dict) else None)
            out.extend(diff(before, after, sub))
        return out
    return [] if old == new else [{"path": path or "(top)", "old": old, "new": new}]
