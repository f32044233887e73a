"""Which model judges a camera: the one scoped to that camera, else the farm's, else the default.

A registry entry may carry `"scope": {"farm_id": <farm or null>, "camera": "<gateway_id>/<camera id>"
or null}` (`fuhuiyang models adapt` writes it for a farm's own model). The shipped registry
(models/registry.json) and a deployment's models dir (`<models_dir>/registry.json`, the same
format, files relative to that dir) are read together, the models dir last, so its entry wins
over a shipped one of the same name. Among several entries for one camera or farm the one
written last in its file wins (a newer adaptation is registered after the older one).

`ModelCatalog` re-reads both files whenever either changes (size or mtime), so a model
registered while a worker runs judges that camera's next frame without a restart.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cloud.detect.registry import REGISTRY, ModelEntry, RegistryError, entry_from_raw

log = logging.getLogger(__name__)

MODELS_DIR_REGISTRY = "registry.json"


@dataclass(frozen=True)
class Registered:
    """One registry entry as read: its name, raw JSON, the dir its files are relative to, its scope."""

    name: str
    raw: dict[str, Any]
    base: Path
    farm_id: str | None = None
    camera: str | None = None  # "<gateway_id>/<camera id>"

    @property
    def scoped(self) -> bool:
        return self.farm_id is not None or self.camera is not None


def parse_scope(raw: dict[str, Any]) -> tuple[str | None, str | None]:
    """(farm_id, camera) of an entry; (None, None) when it is for everyone. Farm ids are
    compared as text (the database's farm ids are text; an integer in JSON means the same)."""
    scope = raw.get("scope")
    if scope is None:
        return None, None
    if not isinstance(scope, dict):
        raise RegistryError(f"scope must be an object, not {scope!r}")
    farm, camera = scope.get("farm_id"), scope.get("camera")
    if farm is not None and not isinstance(farm, str | int):
        raise RegistryError(f"scope.farm_id must be text or a number, not {farm!r}")
    if camera is not None and (not isinstance(camera, str) or camera.count("/") != 1 or camera.startswith("/")
                               or camera.endswith("/")):
        raise RegistryError(f"scope.camera must be '<gateway_id>/<camera id>', not {camera!r}")
    return (None if farm is None else str(farm)), camera


def choose(entries: Sequence[Registered], default: str, farm_id: str | None, camera: str) -> str:
    """The name of the model for `camera` ("<gateway_id>/<camera id>") of `farm_id`."""
    for_camera = [e for e in entries if e.camera == camera and (e.farm_id is None or e.farm_id == farm_id)]
    if for_camera:
        return for_camera[-1].name
    for_farm = [e for e in entries if e.camera is None and e.farm_id is not None and e.farm_id == farm_id]
    if for_farm:
        return for_farm[-1].name
    return default


def read_registry(path: Path) -> tuple[list[Registered], str | None]:
    """The entries of one registry file in file order, and its default (if it names one)."""
    doc = json.loads(path.read_text())
    models = doc.get("models")
    if not isinstance(models, dict):
        raise RegistryError(f"{path} has no 'models' object")
    out = []
    for name, raw in models.items():
        if not isinstance(raw, dict):
            raise RegistryError(f"{path}: entry {name!r} is not an object")
        farm, camera = parse_scope(raw)
        out.append(Registered(str(name), raw, path.parent, farm, camera))
    default = doc.get("default")
    return out, (str(default) if default is not None else None)


class ModelCatalog:
    """The merged registries, re-read when a file changes. `default` overrides the shipped default."""

    def __init__(self, shipped: Path = REGISTRY, models_dir: Path | None = None, default: str | None = None) -> None:
        self.shipped = shipped
        self.models_dir = models_dir
        self._default_override = default
        self._signature: tuple[tuple[str, int, int], ...] | None = None
        self.entries: list[Registered] = []
        self.default = default or ""
        self.reloads = 0
        self.refresh()

    def _files(self) -> list[Path]:
        files = [self.shipped]
        if self.models_dir is not None and (self.models_dir / MODELS_DIR_REGISTRY).is_file():
            files.append(self.models_dir / MODELS_DIR_REGISTRY)
        return files

    def _stat(self) -> tuple[tuple[str, int, int], ...]:
        out = []
        for path in self._files():
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            out.append((str(path), st.st_mtime_ns, st.st_size))
        return tuple(out)

    def refresh(self) -> bool:
        """Re-read the registries if a file changed; True when the entries were reloaded. A file
        that does not parse (say, caught half-written) leaves the previous entries in place."""
        signature = self._stat()
        if signature == self._signature:
            return False
        entries: list[Registered] = []
        default = self._default_override
        try:
            for index, path in enumerate(self._files()):
                found, file_default = read_registry(path)
                entries = [e for e in entries if e.name not in {f.name for f in found}] + found
                if index == 0 and default is None:
                    default = file_default
        except (OSError, ValueError, RegistryError) as exc:
            log.warning("model registry not reloaded (%s); keeping the models read before", exc)
            if self._signature is None:
                raise RegistryError(f"cannot read the model registry: {exc}") from exc
            return False
        if default is None:
            raise RegistryError(f"{self.shipped} names no default model")
        self.entries, self.default, self._signature = entries, default, signature
        self.reloads += 1
        return True

    def pick(self, farm_id: str | None, camera: str) -> str:
        return choose(self.entries, self.default, farm_id, camera)

    def judge_of(self, farm_id: str | None, camera: str) -> dict[str, Any]:
        """What judges `camera` next, for the console: the model's name, whose it is (`camera`,
        `farm` or `default`), the networks it holds, and how a farm's model was adapted (the
        registry's `adapted`, written by `fuhuiyang models adapt`; empty for a shipped model)."""
        name = self.pick(farm_id, camera)
        found = self._registered(name)
        owner = "default" if found is None or not found.scoped else "camera" if found.camera else "farm"
        raw = found.raw if found else {}
        adapted = raw.get("adapted")
        return {"name": name, "owner": owner, "networks": raw.get("networks", 1),
                "adapted": adapted if isinstance(adapted, dict) else {}}

    def entry(self, name: str, *, verify: bool = True) -> ModelEntry:
        found = self._registered(name)
        if found is None:
            raise RegistryError(f"model {name!r} is in no registry")
        return entry_from_raw(name, found.raw, found.base, verify=verify)

    def fingerprint(self, name: str) -> str:
        """What identifies a registered model's weights: a re-registration under the same name
        with new weights has a new sha256."""
        found = self._registered(name)
        return "" if found is None else str(found.raw.get("sha256", ""))

    def _registered(self, name: str) -> Registered | None:
        """The entry of that name as read last (the models dir's wins over a shipped one)."""
        return next((r for r in reversed(self.entries) if r.name == name), None)
