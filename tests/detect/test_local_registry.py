"""A deployment's own models beside the shipped registry: merging, scope, which model a camera
gets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from cloud.detect import (
    REGISTRY,
    RegistryError,
    Scope,
    load_entry,
    local_registry,
    model_for_camera,
    model_names,
    scopes,
)
from models.cli import models
from models.register import register_local

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
    adapted(models_dir, "farm3-cam1", Scope(3, "gw-01/cam1"))
    entry = load_entry("farm3-cam1", models_dir=models_dir)
    assert entry.path == (models_dir / "farm3-cam1.onnx").resolve()
    assert entry.input_size == 640 and entry.conf == {"chicken": 0.5, "dead": 0.5}
    assert entry.extra["scope"] == {"farm_id": 3, "camera": "gw-01/cam1"}
    assert load_entry(models_dir=models_dir).name == load_entry().name  # default stays shipped
    assert model_names(models_dir=models_dir)[-1] == "farm3-cam1"
    with pytest.raises(RegistryError, match="farm3-cam1"):
        load_entry("farm3-cam1")  # without the models dir it is unknown
    doc = json.loads(local_registry(models_dir).read_text())
    assert doc["models"]["farm3-cam1"]["scope"] == {"farm_id": 3, "camera": "gw-01/cam1"}


def test_sha256_of_a_local_model_is_checked(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    adapted(models_dir, "farm3", Scope(3, None))
    (models_dir / "farm3.onnx").write_bytes(b"not the model")
    with pytest.raises(RegistryError, match="sha256"):
        load_entry("farm3", models_dir=models_dir)


def test_shipped_names_cannot_be_taken(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="shipped"):
        register_local(load_entry().name, {"file": "x.onnx"}, tmp_path)
    assert not local_registry(tmp_path).exists()


def test_a_camera_gets_its_own_model_then_its_farms_then_the_default(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    adapted(models_dir, "farm3", Scope(3, None))
    adapted(models_dir, "farm3-cam1", Scope(3, "gw-01/cam1"))
    adapted(models_dir, "cam9", Scope(None, "gw-09/cam9"))
    adapted(models_dir, "unscoped", None)
    assert set(scopes(models_dir)) == {"farm3", "farm3-cam1", "cam9"}
    assert model_for_camera(3, "gw-01/cam1", models_dir) == "farm3-cam1"
    assert model_for_camera(3, "gw-01/cam2", models_dir) == "farm3"
    assert model_for_camera(4, "gw-01/cam1", models_dir) is None  # another farm's camera key
    assert model_for_camera(7, "gw-09/cam9", models_dir) == "cam9"
    assert model_for_camera(None, "gw-02/cam1", models_dir) is None
    assert model_for_camera(3, "gw-01/cam1", None) is None
    adapted(models_dir, "farm3-cam1-v2", Scope(3, "gw-01/cam1"))
    assert model_for_camera(3, "gw-01/cam1", models_dir) == "farm3-cam1-v2"  # the newer one


def test_a_broken_local_registry_is_named(tmp_path: Path) -> None:
    local_registry(tmp_path).write_text("{not json")
    with pytest.raises(RegistryError, match="not valid JSON"):
        load_entry("farm3", models_dir=tmp_path)


def test_eval_reads_the_models_dir_from_the_environment(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    adapted(models_dir, "farm3", Scope(3, None))
    data = tmp_path / "data"
    (data / "images").mkdir(parents=True)
    (data / "data.yaml").write_text("names: {0: chicken, 1: dead}\n")
    res = CliRunner().invoke(models, ["eval", "--model", "farm3", "--data", str(data), "--json"],
                             env={"FUHUIYANG_MODELS_DIR": str(models_dir)})
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["model"] == "farm3"
    res = CliRunner().invoke(models, ["eval", "--model", "nope", "--data", str(data)],
                             env={"FUHUIYANG_MODELS_DIR": str(models_dir)})
    assert res.exit_code == 1 and "'nope' is not in" in res.output and "Traceback" not in res.output
