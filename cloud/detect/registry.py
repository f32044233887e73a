"""The model registry: `models/registry.json` names each shipped ONNX file and how to use it.

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
    # Each frame is also looked at mirrored and the two looks fused (`cloud.detect.views`):
    # twice the compute, for a farm's adapted model that learnt from a few frames.
    mirrored: bool = False
    # Networks in the file, fine-tuned apart from different seeds: their outputs lie side by side
    # along the points axis, each read as a look of its own and fused with the others.
    networks: int = 1

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


def load_entry(
    name: str | None = None, registry: Path = REGISTRY, *, verify: bool = True
) -> ModelEntry:
    """The named model (or the registry's default), its file checked against its sha256."""
    try:
        doc = json.loads(registry.read_text())
    except FileNotFoundError:
        raise RegistryError(f"no model registry at {registry}") from None
    name = name or doc["default"]
    try:
        raw = doc["models"][name]
    except KeyError:
        raise RegistryError(f"model {name!r} is not in {registry}") from None
    return entry_from_raw(name, raw, registry.parent, verify=verify)


def entry_from_raw(name: str, raw: dict[str, Any], base: Path, *, verify: bool = True) -> ModelEntry:
    """One registry entry (`raw`, its files relative to `base`) as a ModelEntry."""
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
        mirrored=bool(raw.get("mirrored", False)),
        networks=_networks(name, raw),
    )
    if verify:
        _verify(path, entry.sha256)
        if refiner is not None:
            _verify(refiner, raw["refiner"]["sha256"])
    return entry


def _networks(name: str, raw: dict[str, Any]) -> int:
    """How many networks the file holds: looks are fused in pairs (`cloud.detect.views`), so a power of two."""
    n = raw.get("networks", 1)
    if not isinstance(n, int) or n < 1 or n & (n - 1):
        raise RegistryError(f"model {name!r}: networks must be 1, 2, 4...; the registry says {n!r}")
    return n


def _verify(path: Path, sha256: str) -> None:
    if not path.exists():
        raise RegistryError(f"model file {path} is missing")
    actual = sha256_file(path)
    if actual != sha256:
        raise RegistryError(f"{path} has sha256 {actual}, registry says {sha256}")


_KNOWN = {"file", "sha256", "input_size", "classes", "conf", "iou", "track_conf", "mirrored", "networks"}


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


# A deployment's own models (`fuhuiyang models adapt`) are its data, not package files: they live
# in its models dir (FUHUIYANG_MODELS_DIR) with a registry of the same shape, files relative to
# that dir. The detection worker reads both through `cloud.detect.scoped`; one-shot readers (the
# `models` commands) look a name up with `load_registered`.
LOCAL_REGISTRY = "registry.json"


def local_registry(models_dir: Path) -> Path:
    return models_dir / LOCAL_REGISTRY


def load_registered(
    name: str | None, models_dir: Path | None, registry: Path = REGISTRY, *, verify: bool = True
) -> ModelEntry:
    """A shipped model (the default when `name` is None) or, failing that, one of the
    deployment's own in `models_dir`; its files checked against their sha256."""
    try:
        return load_entry(name, registry, verify=verify)
    except RegistryError:
        if name is None or models_dir is None or not local_registry(models_dir).exists():
            raise
    path = local_registry(models_dir)
    try:
        raw = json.loads(path.read_text())["models"][name]
    except json.JSONDecodeError as exc:
        raise RegistryError(f"{path} is not valid JSON: {exc}") from None
    except (KeyError, TypeError):
        raise RegistryError(f"model {name!r} is not in {registry} or {path}") from None
    return entry_from_raw(name, raw, models_dir, verify=verify)
