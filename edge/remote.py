"""Remote configuration: validate the desired document with the local model, persist atomically.

The cloud publishes a retained ``config/desired`` message carrying a (partial) document that is
merged over the local gateway.yaml and validated by the same `GatewayConfig` model. The last
applied document survives restarts in ``data_dir/remote-config.json``.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.config import ConfigError, GatewayConfig, merge, parse_config
from protocol import DecodeError, DesiredConfig, Kind, decode

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    status: str  # applied | rejected | ignored
    version: int
    error: str | None = None
    config: GatewayConfig | None = None
    overlay: dict[str, Any] | None = None


def evaluate(payload: bytes, base: dict[str, Any], gateway_id: str, applied_version: int) -> Decision:
    """Decide on a desired-config message (pure)."""
    try:
        desired: DesiredConfig = decode(Kind.CONFIG_DESIRED, payload)
    except DecodeError as exc:
        return Decision("rejected", 0, f"undecodable desired config: {exc}")
    if desired.gateway_id != gateway_id:
        return Decision("rejected", desired.version, f"addressed to {desired.gateway_id}, this is {gateway_id}")
    if desired.version <= applied_version:
        return Decision("ignored", desired.version)
    if "gateway_id" in desired.config and desired.config["gateway_id"] != gateway_id:
        return Decision("rejected", desired.version, "gateway_id cannot be changed remotely")
    local_only = _local_only_keys(desired.config)
    if local_only:
        return Decision("rejected", desired.version,
                        f"{', '.join(local_only)} can only be changed in the local gateway.yaml")
    try:
        config = parse_config(merge(base, desired.config), f"desired config v{desired.version}")
    except ConfigError as exc:
        return Decision("rejected", desired.version, "; ".join(exc.problems)[:4000])
    return Decision("applied", desired.version, None, config, desired.config)


def _local_only_keys(overlay: dict[str, Any]) -> list[str]:
    """Settings that only take effect on a restart or would move data: not remote."""
    keys: list[str] = [k for k in ("data_dir", "clock", "update") if k in overlay]
    outbox = overlay.get("outbox")
    if isinstance(outbox, dict):
        keys += [f"outbox.{k}" for k in ("path", "synchronous") if k in outbox]
    return keys


class ConfigStore:
    """The applied remote overlay on disk, replaced atomically (write, fsync, rename)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> tuple[int, dict[str, Any]]:
        try:
            doc = json.loads(self.path.read_text())
            return int(doc["version"]), dict(doc["config"])
        except FileNotFoundError:
            return 0, {}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring unreadable %s: %s", self.path, exc)
            return 0, {}

    def save(self, version: int, overlay: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            json.dump({"version": version, "config": overlay}, fh, default=str)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)
        dir_fd = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
