"""A TensorFlow.js graph model (`model.json` + weight shards) run as a torch module.

The one detector trained on photographs that we may ship (NanoDet-m, `models.nanodet`) is
published as such a graph. Running it with torch makes it trainable (every float constant of
more than one value is a parameter: convolution kernels and biases) and exportable to ONNX
like our own models. Only the ops that graph uses are implemented; another is named in an error.
Tensors keep TensorFlow's layout (NHWC around convolutions), as the graph's own transposes expect.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

Node = dict[str, Any]


class GraphError(ValueError):
    """The file is not a graph model this reader can run: says what and where."""


def read_graph(model_json: Path) -> tuple[list[Node], dict[str, torch.Tensor]]:
    """The graph's nodes and its constants by name (float16-quantised weights come back float32)."""
    try:
        spec = json.loads(model_json.read_text())
        nodes = spec["modelTopology"]["node"]
        manifest = spec["weightsManifest"]
    except (OSError, ValueError, KeyError) as exc:
        raise GraphError(f"{model_json}: not a TensorFlow.js graph model ({exc})") from None
    consts: dict[str, torch.Tensor] = {}
    for group in manifest:
        blob = b"".join((model_json.parent / p).read_bytes() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            shape = [int(d) for d in w["shape"]]
            count = int(np.prod(shape)) if shape else 1
            stored = (w.get("quantization") or {}).get("dtype", w["dtype"])
            dtype = {"float16": np.float16, "float32": np.float32, "int32": np.int32}.get(stored)
            if dtype is None:
                raise GraphError(f"{model_json}: weight {w['name']} stored as {stored}, not read here")
            arr = np.frombuffer(blob, dtype, count, offset)
            offset += arr.nbytes
            arr = arr.astype(np.float32 if stored.startswith("float") else np.int64)
            consts[w["name"]] = torch.from_numpy(arr.reshape(shape))
    return nodes, consts


def _text(attr: dict[str, Any], key: str) -> str:
    return base64.b64decode(attr[key]["s"]).decode()


def _ints(attr: dict[str, Any], key: str) -> list[int]:
    return [int(i) for i in attr[key]["list"]["i"]]


def _nchw(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 3, 1, 2)


def _nhwc(x: torch.Tensor) -> torch.Tensor:
    return x.permute(0, 2, 3, 1)


class GraphModule(torch.nn.Module):
    """forward(input) -> the named outputs. `input` may be larger than the graph's own input
    (a multiple of its coarsest stride): its fixed resize sizes scale with it."""

    def __init__(self, model_json: Path, input_name: str, outputs: Sequence[str]) -> None:
        super().__init__()
        self.nodes, consts = read_graph(model_json)
        placeholder = next((n for n in self.nodes if n["name"] == input_name and n["op"] == "Placeholder"), None)
        if placeholder is None:
            raise GraphError(f"{model_json}: no input {input_name!r}")
        self.input_name = input_name
        self.input_hw = tuple(int(d["size"]) for d in placeholder["attr"]["shape"]["shape"]["dim"][-2:])
        self.outputs = list(outputs)
        self.weights = torch.nn.ParameterList()
        self.index: dict[str, int] = {}
        self.fixed: dict[str, torch.Tensor] = {}
        for name, value in consts.items():
            if value.is_floating_point() and value.numel() > 1:
                self.index[name] = len(self.weights)
                self.weights.append(torch.nn.Parameter(value))
            else:
                self.fixed[name] = value

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        scale = (int(x.shape[-2]) / self.input_hw[0], int(x.shape[-1]) / self.input_hw[1])
        values: dict[str, Any] = {**self.fixed, self.input_name: x}
        for name, i in self.index.items():
            values[name] = self.weights[i]

        def get(ref: str) -> torch.Tensor:
            base, _, part = ref.partition(":")
            v = values[base]
            out: torch.Tensor = v[int(part or 0)] if isinstance(v, list) else v
            return out

        for node in self.nodes:
            if node["op"] in ("Const", "Placeholder"):
                continue
            ins = [get(i) for i in node.get("input", []) if not i.startswith("^")]
            values[node["name"]] = _apply(node, ins, scale)
        return [get(o) for o in self.outputs]


def _apply(node: Node, ins: list[torch.Tensor], scale: tuple[float, float]) -> Any:
    op, attr = node["op"], node.get("attr", {})
    if op == "Identity":
        return ins[0]
    if op in ("Add", "AddV2"):
        return ins[0] + ins[1]
    if op == "Sigmoid":
        return torch.sigmoid(ins[0])
    if op == "LeakyRelu":
        return F.leaky_relu(ins[0], attr["alpha"]["f"])
    if op == "Transpose":
        return ins[0].permute(*ins[1].tolist())
    if op == "Reshape":
        return ins[0].reshape([int(v) for v in ins[1].tolist()])
    if op == "ConcatV2":
        return torch.cat(ins[:-1], dim=int(ins[-1]))
    if op == "SplitV":
        return list(torch.split(ins[0], [int(v) for v in ins[1].tolist()], dim=int(ins[2])))
    if op in ("Pad", "PadV2"):
        flat = [int(v) for pair in reversed(ins[1].tolist()) for v in pair]
        return F.pad(ins[0], flat, value=float(ins[2]) if op == "PadV2" else 0.0)
    if op in ("Conv2D", "MaxPool"):
        if _text(attr, "data_format") != "NHWC" or _text(attr, "padding") != "VALID":
            raise GraphError(f"{node['name']}: {op} only NHWC with VALID padding (the graph pads itself)")
        stride = _ints(attr, "strides")[1:3]
        if op == "MaxPool":
            return _nhwc(F.max_pool2d(_nchw(ins[0]), _ints(attr, "ksize")[1:3], stride))
        x, kernel = _nchw(ins[0]), ins[1].permute(3, 2, 0, 1)  # HWIO -> OIHW
        return _nhwc(F.conv2d(x, kernel, stride=stride, dilation=_ints(attr, "dilations")[1:3],
                              groups=x.shape[1] // kernel.shape[1]))
    if op == "ResizeBilinear":
        corners = bool(attr.get("align_corners", {}).get("b", False))
        if not corners and not attr.get("half_pixel_centers", {}).get("b", False):
            raise GraphError(f"{node['name']}: legacy resize (no half-pixel centres) is not implemented")
        size = [int(round(int(v) * k)) for v, k in zip(ins[1].tolist(), scale, strict=True)]
        return _nhwc(F.interpolate(_nchw(ins[0]), size=size, mode="bilinear",
                                   align_corners=corners))
    if op == "SparseToDense":  # the converter's way of writing a constant shape
        idx, shape, values, default = ins
        out = torch.full([int(v) for v in shape.tolist()], int(default), dtype=torch.int64)
        if idx.numel():
            out[tuple(idx.T)] = values
        return out
    raise GraphError(f"{node['name']}: op {op} is not implemented")
