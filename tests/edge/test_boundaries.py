"""A gateway install has only the `edge` extra: the agent must not pull cloud, simulator or heavy deps."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("cloud", "firmware_sim", "models", "pandas", "onnxruntime", "ultralytics", "torch", "fastapi")


def test_agent_modules_import_without_cloud_or_simulator() -> None:
    code = (
        "import sys\n"
        "import fuhuiyang.processes.edge, fuhuiyang.commands.edge, edge.agent, edge.frames, edge.drivers.camera, edge.drivers.scale\n"
        "import edge.drivers.modbus, edge.drivers.clock, edge.weighing\n"
        "from fuhuiyang.cli import cli\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"edge imported {out.stdout.strip()}"
