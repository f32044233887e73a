"""`fuhuiyang bench edge`: the real agent process against the simulator's device servers.

Starts mosquitto, `fuhuiyang sim devices` (Modbus TCP + scale stream + RTC) and optionally
`fuhuiyang sim camera` (MJPEG), then `fuhuiyang edge run` on the generated gateway.yaml, and
samples the agent's RSS and CPU time with psutil while a subscriber counts uplink bytes.
Benchmark only: imports the simulator's CLI as separate processes, never into the agent.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import click
import yaml

ENTRY = "from fuhuiyang.cli import main; main()"


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as fh:
        return subprocess.Popen([sys.executable, "-c", ENTRY, *args], stdout=fh, stderr=subprocess.STDOUT)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _Counter:
    def __init__(self, port: int, gateway: str) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.lock = threading.Lock()
        self.payload_bytes: dict[str, int] = {}
        self.wire_bytes = 0
        self.messages = 0
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{port}")
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(f"fhy/v1/{gateway}/#", qos=1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        kind = msg.topic.split("/", 3)[-1]
        with self.lock:
            self.payload_bytes[kind] = self.payload_bytes.get(kind, 0) + len(msg.payload)
            # PUBLISH fixed header (≤5) + topic length (2) + topic + packet id (2), PUBACK 4.
            self.wire_bytes += len(msg.payload) + len(msg.topic) + 13
            self.messages += 1

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def measure(*, seconds: float, speed: float, camera: bool, scenario: str, gateway: str) -> dict[str, Any]:
    import psutil

    from fuhuiyang.services.mqtt import MosquittoProcess
    from fuhuiyang.services.net import free_port, wait_for_port

    work = Path(tempfile.mkdtemp(prefix="fhy-bench-edge-"))
    broker = MosquittoProcess()
    broker.start()
    procs: list[subprocess.Popen[bytes]] = []
    counter: _Counter | None = None
    try:
        modbus, scale_port = free_port(), free_port()
        cfg_path = work / "gateway.yaml"
        procs.append(_spawn(["sim", "devices", scenario, "--gateway", gateway, "--modbus-port", str(modbus),
                             "--scale-port", str(scale_port), "--speed", str(speed), "--start-day", "7.25",
                             "--gateway-config", str(cfg_path)], work / "devices.log"))
        wait_for_port("127.0.0.1", modbus, 60)
        wait_for_port("127.0.0.1", scale_port, 30)
        cfg = yaml.safe_load(cfg_path.read_text())
        cfg["mqtt"] = {"host": "127.0.0.1", "port": broker.port}
        cfg["data_dir"] = str(work / "edge")
        if camera:
            cam_port = free_port()
            procs.append(_spawn(["sim", "camera", "--port", str(cam_port), "--speed", str(speed),
                                 "--interval-s", "10"], work / "camera.log"))
            wait_for_port("127.0.0.1", cam_port, 60)
            cfg["cameras"] = [{"id": "cam1", "source": f"http://127.0.0.1:{cam_port}/stream.mjpg",
                               "lights_on_h": [0, 24]}]
        cfg_path.write_text(yaml.safe_dump(cfg))
        counter = _Counter(broker.port, cfg["gateway_id"])
        agent = _spawn(["edge", "run", "--config", str(cfg_path)], work / "agent.log")
        procs.append(agent)
        ps = psutil.Process(agent.pid)
        rss_peak = 0.0
        time.sleep(min(5.0, seconds / 4))  # imports and first connections are not steady state
        cpu0 = sum(ps.cpu_times()[:2])
        t0 = time.monotonic()
        bytes0 = counter.wire_bytes
        while time.monotonic() - t0 < seconds:
            if agent.poll() is not None:
                raise RuntimeError(f"agent exited with {agent.returncode}; see {work / 'agent.log'}")
            rss_peak = max(rss_peak, ps.memory_info().rss / 2**20)
            time.sleep(0.25)
        wall = time.monotonic() - t0
        cpu = sum(ps.cpu_times()[:2]) - cpu0
        event_s = wall * speed
        with counter.lock:
            wire = counter.wire_bytes - bytes0
            by_kind = dict(counter.payload_bytes)
            messages = counter.messages
        return {
            "rss_mb": round(rss_peak, 1),
            "cpu_percent": round(100.0 * cpu / wall, 2),
            "bytes_per_day": round(wire / event_s * 86400),
            "camera": camera,
            "speed": speed,
            "wall_s": round(wall, 1),
            "event_s": round(event_s),
            "messages": messages,
            "payload_bytes_by_kind": by_kind,
            "sensors": len(cfg.get("sensors", [])),
            "scale": "scale" in cfg,
            "work_dir": str(work),
        }
    finally:
        if counter is not None:
            counter.close()
        for proc in reversed(procs):
            with contextlib.suppress(Exception):
                _stop(proc)
        broker.stop()


@click.command("edge")
@click.option("--seconds", default=90.0, show_default=True, type=click.FloatRange(10, 3600),
              help="Wall-clock span the agent runs.")
@click.option("--speed", default=1.0, show_default=True, type=click.FloatRange(1, 3600),
              help="Simulated seconds per wall second (1 = the devices' real rates).")
@click.option("--camera/--no-camera", default=False, show_default=True,
              help="Also serve a simulated MJPEG camera and let the agent capture from it.")
@click.option("--scenario", default="demo_region", show_default=True)
@click.option("--gateway", default="gw-f01", show_default=True)
@click.option("--json", "as_json", is_flag=True)
def edge_footprint(seconds: float, speed: float, camera: bool, scenario: str, gateway: str,
                   as_json: bool) -> None:
    """Run `fuhuiyang edge run` against simulated devices and measure RSS, CPU and uplink bytes."""
    out = measure(seconds=seconds, speed=speed, camera=camera, scenario=scenario, gateway=gateway)
    if as_json:
        click.echo(json.dumps(out, indent=2))
    else:
        for k, v in out.items():
            click.echo(f"{k}: {v}")
