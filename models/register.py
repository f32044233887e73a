"""Writing `models/registry.json` entries (training side; serving only reads it)."""

from __future__ import annotations

import fcntl
import json
from pathlib import Path
from typing import Any

from cloud.detect import REGISTRY, RegistryError, local_registry

MEASURED = ("evaluation", "meets_targets")  # written by `models eval --record` for one file


def derived_entry(name: str, registry: Path = REGISTRY) -> dict[str, Any]:
    """A copy of model `name`'s entry to build a new model on, without its measured figures
    (they belong to that model; `models eval --record` measures the new one)."""
    raw = json.loads(registry.read_text())["models"][name]
    return {k: v for k, v in raw.items() if k not in MEASURED}


def register(name: str, raw: dict[str, Any], make_default: bool, registry: Path = REGISTRY) -> None:
    """Add or replace `name`; it becomes the default when asked or when there is none yet."""
    doc = json.loads(registry.read_text()) if registry.exists() else {"models": {}}
    doc["models"][name] = raw
    if make_default or "default" not in doc:
        doc["default"] = name
    registry.write_text(json.dumps(doc, indent=2) + "\n")


def shipped_names(registry: Path = REGISTRY) -> set[str]:
    return set(json.loads(registry.read_text())["models"]) if registry.exists() else set()


def register_local(name: str, raw: dict[str, Any], models_dir: Path,
                   registry: Path = REGISTRY) -> None:
    """Add or replace a deployment's own model (`raw["file"]` relative to `models_dir`).

    A shipped name is refused: a farm's model must not change what the name means elsewhere.
    The file is replaced in one rename, so a worker reading it meanwhile sees the old or the new.
    """
    if name in shipped_names(registry):
        raise RegistryError(f"{name!r} is a shipped model; choose another name")
    path = local_registry(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    # Two adaptations finishing together must not lose one's entry: read-modify-write under a lock.
    with (models_dir / ".registry.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        doc = json.loads(path.read_text()) if path.exists() else {"models": {}}
        doc["models"].pop(name, None)  # re-registered: last in the file, as the newest
        doc["models"][name] = raw
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
        tmp.replace(path)
