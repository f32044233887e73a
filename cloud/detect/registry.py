"""The model registry: `models/registry.json` names each shipped ONNX file and how to use it.

Models adapted to one farm or camera (`fuhuiyang models adapt`) are a deployment's data, not
package files: they live in a models directory (`FUHUIYANG_MODELS_DIR`, default `var/models`)
with a registry of the same shape, `<models_dir>/registry.json`, whose `file` paths are
relative to that directory. Readers merge the two; a local entry never shadows a shipped one,
and the default is always the shipped registry's. A local entry may carry a scope,
`{"scope": {"farm_id": 3, "camera": "gw-01/cam1"}}` (either may be null): the detection worker
serves that model for frames of that camera (or farm) instead of the default.

Only JSON and the ONNX file are read; no training code is imported.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REGISTRY = Path(__file__).resolve().parents[2] / "models" / "registry.json"


@dataclass(frozen=True)
class ModelEntry:
    name: str
    path: Path
    sha256: str
    input_size: int
    classes: tuple[str, ...]
    conf: dict[str, float]  # default score threshold per class
    iou: float
    extra: dict[str, object] = field(default_factory=dict)
    refiner: Path | None = None  # second-stage ONNX file; its settings are extra["refiner"]
    # Thresholds for the stillness tracker, where they differ from `conf`: staying still for
    # half an hour over several frames is evidence one frame lacks, so it can take more boxes.
    track_conf: dict[str, float] = field(default_factory=dict)

    def conf_vector(self) -> list[float]:
        return [self.conf.get(c, self.conf.get("default", 0.25)) for c in self.classes]

    def track_vector(self) -> list[float]:
        """Per class, what the detection worker keeps for its tracker."""
        return [self.track_conf.get(c, t) for c, t in zip(self.classes, self.conf_vector(), strict=True)]


class RegistryError(RuntimeError):
    pass


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


LOCAL_REGISTRY = "registry.json"  # inside a deployment's models directory


@dataclass(frozen=True)
class Scope:
    """Where an adapted model is served: one camera (`<gateway_id>/<camera_id>`), one farm, or
    both; None for either means any."""

    farm_id: int | None = None
    camera: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"farm_id": self.farm_id, "camera": self.camera}


def local_registry(models_dir: Path) -> Path:
    return models_dir / LOCAL_REGISTRY


def _read(registry: Path) -> dict[str, Any]:
    try:
        doc = json.loads(registry.read_text())
    except FileNotFoundError:
        raise RegistryError(f"no model registry at {registry}") from None
    except json.JSONDecodeError as exc:
        raise RegistryError(f"{registry} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("models"), dict):
        raise RegistryError(f"{registry} has no \"models\" object")
    return doc


def _local_models(models_dir: Path | None) -> dict[str, dict[str, object]]:
    if models_dir is None or not local_registry(models_dir).exists():
        return {}
    models: dict[str, dict[str, object]] = _read(local_registry(models_dir))["models"]
    return models


def model_names(registry: Path = REGISTRY, models_dir: Path | None = None) -> list[str]:
    """Every registered model: shipped ones, then the deployment's own."""
    shipped = [str(n) for n in _read(registry)["models"]]
    return shipped + [n for n in _local_models(models_dir) if n not in shipped]


def scopes(models_dir: Path | None) -> dict[str, Scope]:
    """The scoped models of a deployment, by name."""
    out = {}
    for name, raw in _local_models(models_dir).items():
        scope = raw.get("scope")
        if isinstance(scope, dict):
            farm = scope.get("farm_id")
            camera = scope.get("camera")
            out[name] = Scope(int(farm) if farm is not None else None,
                              str(camera) if camera is not None else None)
    return out


def model_for_camera(farm_id: int | None, camera: str, models_dir: Path | None) -> str | None:
    """The deployment's model for this camera (`<gateway_id>/<camera_id>`) of this farm: one
    scoped to the camera first, then one scoped to the farm; None means the default. Among
    several of the same kind, the last registered wins (a newer adaptation replaces an older)."""
    found: dict[int, str] = {}
    for name, scope in scopes(models_dir).items():
        if scope.farm_id is not None and scope.farm_id != farm_id:
            continue
        if scope.camera is not None:
            if scope.camera == camera:
                found[0] = name
        elif scope.farm_id is not None:
            found[1] = name
    return found.get(0) or found.get(1)


def load_entry(
    name: str | None = None, registry: Path = REGISTRY, *, verify: bool = True,
    models_dir: Path | None = None,
) -> ModelEntry:
    """The named model (or the registry's default), its file checked against its sha256.

    `models_dir` adds the deployment's own models (see the module's docstring)."""
    doc = _read(registry)
    shipped: dict[str, dict[str, Any]] = doc["models"]
    name = name or str(doc["default"])
    base = registry.parent
    if name in shipped:
        raw: dict[str, Any] = shipped[name]
    else:
        local = _local_models(models_dir)
        if name not in local or models_dir is None:
            where = f"{registry}" + (f" or {local_registry(models_dir)}" if models_dir else "")
            raise RegistryError(f"model {name!r} is not in {where}") from None
        raw, base = local[name], models_dir
    path = (base / raw["file"]).resolve()
    refiner = (base / raw["refiner"]["file"]).resolve() if "refiner" in raw else None
    entry = ModelEntry(
        name=name,
        path=path,
        sha256=raw["sha256"],
        input_size=int(raw["input_size"]),
        classes=tuple(raw["classes"]),
        conf={k: float(v) for k, v in raw["conf"].items()},
        iou=float(raw["iou"]),
        extra={k: v for k, v in raw.items() if k not in _KNOWN},
        refiner=refiner,
        track_conf={k: float(v) for k, v in raw.get("track_conf", {}).items()},
    )
    if verify:
        _verify(path, entry.sha256)
        if refiner is not None:
            _verify(refiner, raw["refiner"]["sha256"])
    return entry


def _verify(path: Path, sha256: str) -> None:
    if not path.exists():
        raise RegistryError(f"model file {path} is missing")
    actual = sha256_file(path)
    if actual != sha256:
        raise RegistryError(f"{path} has sha256 {actual}, registry says {sha256}")


_KNOWN = {"file", "sha256", "input_size", "classes", "conf", "iou", "track_conf"}


def entry_from_onnx(path: Path, defaults: ModelEntry | None = None) -> ModelEntry:
    """An entry for an unregistered ONNX file, from the metadata ultralytics writes into it.

    Thresholds come from `defaults` (usually the registry's default model) where names match.
    """
    import ast

    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    meta = sess.get_modelmeta().custom_metadata_map
    shape = sess.get_inputs()[0].shape
    size = int(shape[-1]) if isinstance(shape[-1], int) else int(ast.literal_eval(meta["imgsz"])[0])
    if "names" in meta:
        names_map = ast.literal_eval(meta["names"])
        classes = tuple(str(names_map[k]) for k in sorted(names_map))
    elif defaults is not None:
        classes = defaults.classes
    else:
        raise RegistryError(f"{path} carries no class names and there is no registry default")
    conf = dict(defaults.conf) if defaults else {"default": 0.25}
    iou = defaults.iou if defaults else 0.5
    return ModelEntry(
        name=path.stem,
        path=path.resolve(),
        sha256=sha256_file(path),
        input_size=size,
        classes=classes,
        conf=conf,
        iou=iou,
    )
