"""Simulated agent releases for over-the-air update runs (`fuhuiyang bench rollout`).

A simulated gateway does not run a second agent process; what a release does once started is
written into the bundle itself (``SIMULATED_AGENT.json``), so the gateway's real update code
(verification, install beside, trial, rollback) handles real signed bundles, and the simulator
only decides how the started version behaves: a good release comes up and reads its sensors; the
broken one connects and heartbeats but its sensor driver never reads (the agent's health check
must catch it), as a release with a broken Modbus register map would.
"""

from __future__ import annotations

import io
import json
import random
import tarfile
from dataclasses import dataclass
from pathlib import Path

BEHAVIOUR_FILE = "SIMULATED_AGENT.json"


@dataclass(frozen=True)
class AgentBehaviour:
    reads_sensors: bool = True
    sensor_start_s: float = 0.5  # the first poll after a start


def agent_bundle(version: str, *, reads_sensors: bool) -> bytes:
    """A release tarball: the agent package marker and how the simulated agent behaves."""
    files = {
        "fuhuiyang_release/VERSION": version.encode(),
        BEHAVIOUR_FILE: json.dumps({"version": version, "reads_sensors": reads_sensors}).encode(),
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 1_764_892_800  # fixed: the same version always has the same bytes
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def behaviour(release_dir: Path | None) -> AgentBehaviour:
    """How the agent in `release_dir` behaves (None: the installed agent, which works)."""
    if release_dir is None:
        return AgentBehaviour()
    try:
        doc = json.loads((release_dir / BEHAVIOUR_FILE).read_text())
    except (OSError, ValueError):
        return AgentBehaviour(reads_sensors=False)  # not a simulated agent: it cannot start here
    return AgentBehaviour(reads_sensors=bool(doc.get("reads_sensors", False)))


def offline_plan(gateway_ids: list[str], share: float, *, keep_online: set[str], seed: int = 21) -> set[str]:
    """Which gateways lose their link during a rollout (never the pilots a technician picked)."""
    candidates = sorted(set(gateway_ids) - keep_online)
    count = min(len(candidates), round(len(gateway_ids) * share))
    return set(random.Random(seed).sample(candidates, count))
