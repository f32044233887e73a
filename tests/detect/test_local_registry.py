"""A deployment's own models beside the shipped registry: registering (`models adapt`'s side)
and looking a name up (`models eval`). Which model a camera gets is `cloud.detect.scoped`'s."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cloud.detect import REGISTRY, RegistryError, load_entry, load_registered, local_registry
from models.adapt import Scope
from models.cli import models
from models.register import register_local
from models.yolo_folder import write_example

pytestmark = pytest.mark.skipif(not REGISTRY.exists(), reason="no model registered yet")


def adapted(models_dir: Path, name: str, scope: Scope | None) -> dict[str, object]:
    """A local entry reusing the default model's ONNX file, copied into the models dir."""
    base = load_entry()
    models_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(base.path, models_dir / f"{name}.onnx")
    raw: dict[str, object] = {
        "file": f"{name}.onnx", "sha256": base.sha256, "input_size": 640,
        "classes": list(base.classes), "conf": {"chicken": 0.5, "dead": 0.5}, "iou": 0.5,
    }
    if scope is not None:
        raw["scope"] = scope.to_json()
    register_local(name, raw, models_dir)
    return raw


def test_local_models_load_beside_shipped_ones(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    adapted(models_dir, "farm3-cam1", Scope("F03", "gw-01/cam1"))
    adapted(models_dir, "farm3", Scope("F03", None))
    entry = load_registered("farm3-cam1", models_dir)
    assert entry.path == (models_dir / "farm3-cam1.onnx").resolve()
    assert entry.input_size == 640 and entry.conf == {"chicken": 0.5, "dead": 0.5}
    assert entry.extra["scope"] == {"farm_id": "F03", "camera": "gw-01/cam1"}
    assert load_registered(None, models_dir).name == load_entry().name  # default stays shipped
    assert load_registered(load_entry().name, models_dir).name == load_entry().name
    with pytest.raises(RegistryError, match="farm3-cam1"):
        load_registered("farm3-cam1", None)  # without the models dir it is unknown
    with pytest.raises(RegistryError, match="'nope' is not in"):
        load_registered("nope", models_dir)
    doc = json.loads(local_registry(models_dir).read_text())
    assert list(doc["models"]) == ["farm3-cam1", "farm3"]  # registration order: the newest last
    assert doc["models"]["farm3-cam1"]["scope"] == {"farm_id": "F03", "camera": "gw-01/cam1"}
    assert "default" not in doc


def test_sha256_of_a_local_model_is_checked(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    adapted(models_dir, "farm3", Scope("F03", None))
    (models_dir / "farm3.onnx").write_bytes(b"not the model")
    with pytest.raises(RegistryError, match="sha256"):
        load_registered("farm3", models_dir)


def test_shipped_names_cannot_be_taken(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="shipped"):
        register_local(load_entry().name, {"file": "x.onnx"}, tmp_path)
    assert not local_registry(tmp_path).exists()


def test_registering_again_replaces_the_entry(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    adapted(models_dir, "farm3", Scope("F03", None))
    adapted(models_dir, "farm3", Scope("F03", "gw-01/cam2"))
    doc = json.loads(local_registry(models_dir).read_text())
    assert doc["models"]["farm3"]["scope"]["camera"] == "gw-01/cam2" and len(doc["models"]) == 1


def test_a_broken_local_registry_is_named(tmp_path: Path) -> None:
    local_registry(tmp_path).write_text("{not json")
    with pytest.raises(RegistryError, match="not valid JSON"):
        load_registered("farm3", tmp_path)


def test_eval_reads_the_models_dir_from_the_environment(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    adapted(models_dir, "farm3", Scope("F03", None))
    data = tmp_path / "data"
    write_example(data, "f0", np.full((64, 96, 3), 90, np.uint8), np.array([0]), np.array([[10.0, 10, 40, 30]]))
    (data / "data.yaml").write_text("names: {0: chicken, 1: dead}\n")
    res = CliRunner().invoke(models, ["eval", "--model", "farm3", "--data", str(data), "--json"],
                             env={"FUHUIYANG_MODELS_DIR": str(models_dir)})
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["model"] == "farm3"
    res = CliRunner().invoke(models, ["eval", "--model", "nope", "--data", str(data)],
                             env={"FUHUIYANG_MODELS_DIR": str(models_dir)})
    assert res.exit_code == 1 and "'nope' is not in" in res.output and "Traceback" not in res.output
