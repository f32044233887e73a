"""The production files, exercised: the shipped compose file's commands and settings on this machine.

What comes from the shipped files, unchanged: each service's command and environment in
`deploy/compose.yaml` (FUHUIYANG_ENVIRONMENT=production, mqtts://, the CA setting, the api's
dynamic-security admin login and file), the broker's `deploy/mosquitto/mosquitto.conf`, and the
setup steps of `docs/deploy.md` (migrate, one service account per process, `provision sync
--offline` before the broker's first start). What is mapped, and only that: host names (`db`,
`broker`) to 127.0.0.1 and the ports to free ones, container paths to a temporary folder, the
image's plugin path to this machine's. PostgreSQL: a login role with a password owns the database
(the local server's pg_hba may still be `trust`, so the password is carried, not necessarily checked).

Then a technician's console registers a gateway (the API, which reaches the live broker), the
gateway connects with the issued login over TLS verifying the CA, and its data is in the API.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml

from fuhuiyang.demo.secure_broker import dynsec_plugin, unavailable_reason
from fuhuiyang.services.net import free_port, wait_for_port
from fuhuiyang.services.tls import issue_server_tls

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "deploy" / "compose.yaml"
MOSQUITTO_CONF = ROOT / "deploy" / "mosquitto" / "mosquitto.conf"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(unavailable_reason() is not None, reason=f"broker: {unavailable_reason()}")]


def fhy(*args: str, env: dict[str, str], cwd: Path | None = None, check: bool = True) -> str:
    done = subprocess.run([sys.executable, "-m", "fuhuiyang", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=180)
    if check:
        assert done.returncode == 0, f"{args}: {done.stdout[-1500:]} {done.stderr[-3000:]}"
    return done.stdout


class Deployment:
    """The compose file's services, mapped onto this machine."""

    def __init__(self, work: Path, db_url: str, broker_port: int, ca_file: Path) -> None:
        self.compose = yaml.safe_load(COMPOSE.read_text())
        self.work = work
        self.db_url = db_url
        self.broker_port = broker_port
        self.ca_file = ca_file
        self.dotenv = {"DYNSEC_ADMIN_PASSWORD": secrets.token_urlsafe(24),
                       "FUHUIYANG_JWT_SECRET": secrets.token_hex(32)}
        self.procs: list[subprocess.Popen[bytes]] = []

    def _map(self, value: str) -> str:
        value = re.sub(r"\$\{(\w+)[^}]*\}", lambda m: self.dotenv.get(m.group(1), ""), value)  # .env
        value = re.sub(r"postgresql://[^@]*@db:5432/fuhuiyang", self.db_url, value)
        value = value.replace("broker:8883", f"127.0.0.1:{self.broker_port}")
        value = value.replace("/etc/fuhuiyang/ca.crt", str(self.ca_file))
        value = value.replace("/mosquitto/auth", str(self.work / "auth"))
        return value.replace("/var/lib/fuhuiyang", str(self.work / "var"))

    def env(self, service: str) -> dict[str, str]:
        declared = self.compose["services"][service].get("environment") or self.compose["x-app"]["environment"]
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("FUHUIYANG_")}
        return inherited | {k: self._map(str(v)) for k, v in declared.items()} | {
            "FUHUIYANG_JWT_SECRET": self.dotenv["FUHUIYANG_JWT_SECRET"]}

    def command(self, service: str, ports: dict[str, str]) -> list[str]:
        return [ports.get(arg, self._map(arg)) for arg in self.compose["services"][service]["command"]]

    def start(self, service: str, ports: dict[str, str]) -> None:
        log = open(self.work / f"{service}.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.procs.append(subprocess.Popen([sys.executable, "-m", "fuhuiyang", *self.command(service, ports)],
                                           env=self.env(service), stdout=log, stderr=subprocess.STDOUT,
                                           cwd=self.work))

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def broker_conf(work: Path, port: int, tls_dir: Path) -> Path:
    """The shipped mosquitto.conf with this machine's paths and port."""
    text = MOSQUITTO_CONF.read_text()
    text = text.replace("/usr/lib/mosquitto_dynamic_security.so", str(dynsec_plugin()))
    text = text.replace("/mosquitto/auth", str(work / "auth")).replace("/mosquitto/data/", f"{work / 'data'}/")
    text = text.replace("/mosquitto/certs/server.crt", str(tls_dir / "server.pem"))
    text = text.replace("/mosquitto/certs/server.key", str(tls_dir / "server.key"))
    text = text.replace("/mosquitto/certs/ca.crt", str(tls_dir / "ca.pem"))
    text = text.replace("listener 8883", f"listener {port} 127.0.0.1")
    if os.geteuid() == 0:  # as root, mosquitto would drop to a user that cannot read this folder
        text += "\nuser root\n"
    (work / "data").mkdir(exist_ok=True)
    path = work / "mosquitto.conf"
    path.write_text(text)
    return path


@pytest.fixture
def password_database(postgres_url: str) -> Iterator[str]:
    """A database owned by a login role with a password, as compose's `db` service creates."""
    name = f"fhy_smoke_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
        conn.execute(f"CREATE DATABASE {name} OWNER {name}")
    parts = urllib.parse.urlsplit(postgres_url)
    host = parts.hostname or "127.0.0.1"
    yield f"postgresql://{name}:{password}@{host}:{parts.port or 5432}/{name}"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"DROP ROLE IF EXISTS {name}")


def http(method: str, url: str, token: str | None = None, body: dict[str, Any] | None = None,
         form: dict[str, str] | None = None) -> Any:
    data, headers = None, {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def test_compose_services_come_up_and_a_console_provisioned_gateway_delivers(
        password_database: str, tmp_path: Path) -> None:
    work = tmp_path / "deploy"
    work.mkdir()
    work.chmod(0o700)
    tls = issue_server_tls(work / "certs")
    broker_port, api_port = free_port(), free_port()
    deployment = Deployment(work, password_database, broker_port, tls.ca_file)
    setup = deployment.env("api")
    assert setup["FUHUIYANG_ENVIRONMENT"] == "production"
    broker: subprocess.Popen[bytes] | None = None
    try:
        # docs/deploy.md, in order: migrate, one broker login per process kind, render the plugin file.
        fhy(*deployment.command("migrate", {}), env=deployment.env("migrate"))
        logins = {}
        for service, role in (("ingest", "ingest"), ("detect", "reader"), ("api", "publisher")):
            username = deployment.env(service)["FUHUIYANG_MQTT_USERNAME"]
            out = fhy("cloud", "provision", "service-account", username, "--role", role, "--json",
                      env=deployment.env("migrate"))  # no admin login there: the database only
            logins[service] = json.loads(out)["password"]
        deployment.dotenv |= {"MQTT_INGEST_PASSWORD": logins["ingest"], "MQTT_DETECT_PASSWORD": logins["detect"],
                              "MQTT_API_PASSWORD": logins["api"]}
        fhy("cloud", "provision", "sync", "--offline", env=deployment.env("api"))
        assert (work / "auth" / "dynamic-security.json").exists()
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        broker_log = open(work / "mosquitto.log", "ab")  # noqa: SIM115
        broker = subprocess.Popen([binary, "-c", str(broker_conf(work, broker_port, work / "certs"))],
                                  stdout=broker_log, stderr=subprocess.STDOUT)
        wait_for_port("127.0.0.1", broker_port, 15)

        deployment.start("ingest", {"9101": str(free_port())})
        deployment.start("api", {"0.0.0.0": "127.0.0.1", "8000": str(api_port)})
        wait_for_port("127.0.0.1", api_port, 90)

        # The first administrator (docs), a farm, then the console registers a gateway.
        fhy("cloud", "web", "create-user", "admin", "--role", "admin", "--password", "s3cret-admin",
            env=deployment.env("api"))
        with psycopg.connect(password_database) as conn:
            conn.execute("INSERT INTO regions (id, level, name) VALUES ('c1', 'county', 'County')")
            conn.execute("INSERT INTO farms (id, name, region_id) VALUES ('farm-1', 'Farm 1', 'c1')")
        api = f"http://127.0.0.1:{api_port}/api/v1"
        token = http("POST", f"{api}/auth/token", form={"username": "admin", "password": "s3cret-admin"})[
            "access_token"]
        credentials = http("POST", f"{api}/farms/farm-1/gateways", token, {"gateway_id": "gw-smoke"})
        assert credentials["broker_tls"] is True and credentials["broker_port"] == broker_port

        # The gateway as a technician sets it up: the console's gateway.yaml, the CA beside it.
        gateway = yaml.safe_load(credentials["gateway_yaml"])
        gateway["mqtt"]["ca_file"] = str(tls.ca_file)
        gateway["data_dir"] = str(work / "gw")
        (work / "gateway.yaml").write_text(yaml.safe_dump(gateway))
        gw_env = {k: v for k, v in os.environ.items() if not k.startswith("FUHUIYANG_")} | {
            credentials["password_env"]: credentials["password"]}
        gw_log = open(work / "gateway.log", "ab")  # noqa: SIM115
        deployment.procs.append(subprocess.Popen(
            [sys.executable, "-m", "fuhuiyang", "edge", "run", "--config", str(work / "gateway.yaml")],
            env=gw_env, stdout=gw_log, stderr=subprocess.STDOUT, cwd=work))

        deadline = time.monotonic() + 120
        seen = None
        while time.monotonic() < deadline:
            seen = http("GET", f"{api}/gateways/gw-smoke", token)
            if seen["last_seen"] and seen["software"]:
                break
            time.sleep(1)
        logs = {p.name: p.read_text()[-1500:] for p in work.glob("*.log")}
        assert seen and seen["last_seen"] and seen["software"], (seen, logs)
    finally:
        deployment.stop()
        if broker is not None:
            broker.terminate()
            broker.wait(10)
