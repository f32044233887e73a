"""MQTT brokers: an external one, a private `mosquitto` process, or in-process amqtt."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from fuhuiyang.services.net import free_port, port_open, wait_for_port
from messaging.broker import BrokerAddress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BrokerEndpoint:
    host: str
    port: int
    kind: str  # "external", "mosquitto" or "amqtt"
    tls: bool = False

    @property
    def url(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"

    @property
    def supports_v5(self) -> bool:
        return self.kind != "amqtt"  # amqtt speaks MQTT 3.1.1 only


class MosquittoProcess:
    """A mosquitto broker owned by the caller (tests may stop, restart and reload it)."""

    def __init__(self, extra_conf: str = "", port: int | None = None, workdir: Path | None = None,
                 *, persistent: bool = False, tls: bool = False):
        self.port = port or free_port()
        self._workdir = workdir or Path(tempfile.mkdtemp(prefix="fhy-mosquitto-"))
        self.conf_path = self._workdir / "mosquitto.conf"
        self._extra_conf = extra_conf
        self._persistent = persistent  # sessions and queued messages survive a restart
        self._tls = tls  # `extra_conf` gives the main listener a certificate
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def endpoint(self) -> BrokerEndpoint:
        return BrokerEndpoint("127.0.0.1", self.port, "mosquitto", tls=self._tls)

    def _write_conf(self) -> None:
        if self._persistent:
            # Started as root, mosquitto drops to its own user, which must write its database here.
            self._workdir.chmod(0o777)
        auth = "" if "allow_anonymous" in self._extra_conf else "allow_anonymous true\n"
        persistence = (
            f"persistence true\npersistence_location {self._workdir}/\n" if self._persistent else "persistence false\n"
        )
        self.conf_path.write_text(
            f"listener {self.port} 127.0.0.1\n"
            f"{persistence}"
            "max_queued_messages 100000\n"
            "max_inflight_messages 100\n"
            f"{auth}{self._extra_conf}\n"
        )

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self._write_conf()
        log_path = self._workdir / "mosquitto.log"
        with open(log_path, "ab") as log_file:
            self._proc = subprocess.Popen(
                [binary, "-c", str(self.conf_path)], stdout=log_file, stderr=subprocess.STDOUT
            )
        try:
            wait_for_port("127.0.0.1", self.port, timeout=15)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"mosquitto did not start: {log_path.read_text()[-2000:]}") from None

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def reload(self) -> None:
        """Re-read password and ACL files (SIGHUP)."""
        if self._proc is None:
            raise RuntimeError("mosquitto is not running")
        os.kill(self._proc.pid, signal.SIGHUP)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None


class AmqttBroker:
    """An in-process MQTT 3.1.1 broker for machines without mosquitto."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._broker: object | None = None

    @property
    def endpoint(self) -> BrokerEndpoint:
        return BrokerEndpoint("127.0.0.1", self.port, "amqtt")

    def start(self) -> None:
        from amqtt.broker import Broker

        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        loop = asyncio.new_event_loop()
        self._loop = loop
        started = threading.Event()

        async def run() -> None:
            broker = Broker(config, loop=loop)
            self._broker = broker
            await broker.start()
            started.set()

        def main() -> None:
            asyncio.set_event_loop(loop)
            loop.create_task(run())
            loop.run_forever()

        self._thread = threading.Thread(target=main, name="amqtt-broker", daemon=True)
        self._thread.start()
        if not started.wait(15):
            raise RuntimeError("in-process amqtt broker did not start")
        wait_for_port("127.0.0.1", self.port, timeout=10)

    def stop(self) -> None:
        if self._loop is None or self._broker is None:
            return
        future = asyncio.run_coroutine_threadsafe(self._broker.shutdown(), self._loop)  # type: ignore[attr-defined]
        future.result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._loop = None


def accepts_anonymous(endpoint: BrokerEndpoint, ca_file: str | None = None, timeout_s: float = 10.0) -> bool:
    """Whether the broker lets a client in with no username (asked, not assumed)."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    answered = threading.Event()
    outcome: dict[str, bool] = {}

    def on_connect(c: mqtt.Client, userdata: object, flags: object, reason: mqtt.ReasonCode, props: object) -> None:
        outcome["accepted"] = not reason.is_failure
        answered.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"fhy-anon-probe-{os.getpid()}",
                         reconnect_on_failure=False)
    if endpoint.tls:
        client.tls_set(ca_certs=ca_file)
    client.on_connect = on_connect
    client.on_connect_fail = lambda c, u: answered.set()
    client.on_disconnect = lambda c, u, f, r, p: answered.set()  # closed before a CONNACK
    try:
        client.connect(endpoint.host, endpoint.port)
    except OSError:
        return False
    client.loop_start()
    try:
        answered.wait(timeout_s)
    finally:
        client.disconnect()
        client.loop_stop()
    return outcome.get("accepted", False)


def find_or_start(url: str) -> tuple[BrokerEndpoint, MosquittoProcess | AmqttBroker | None]:
    """The configured broker if it answers, else mosquitto on a free port, else amqtt."""
    address = BrokerAddress.parse(url)
    host, port = address.host, address.port
    if port_open(host, port):
        return BrokerEndpoint(host, port, "external", address.tls), None
    log.warning("no MQTT broker answers at %s:%s; starting one", host, port)
    if shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists():
        mosquitto = MosquittoProcess()
        mosquitto.start()
        return mosquitto.endpoint, mosquitto
    amqtt = AmqttBroker()
    amqtt.start()
    return amqtt.endpoint, amqtt
