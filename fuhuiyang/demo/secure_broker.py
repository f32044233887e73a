"""The demo's broker as a county programme runs it: TLS only, no anonymous login, dynamic security.

A fresh CA signs the broker's certificate; the broker starts on the dynamic-security config that
provisioning renders from the (empty) database, so only the admin login exists; then every login
is issued live by the provisioning code, as `fuhuiyang cloud provision` and the console do: one
service account per cloud process, and (in the runner) one per gateway, each bound to its own
topics by its own role.
"""

from __future__ import annotations

import glob
import logging
import os
import secrets
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from cloud.provisioning.broker_auth import Account, BrokerAuth
from cloud.provisioning.dynsec_backend import DynsecControl, DynsecFile
from cloud.provisioning.gateways import Provisioner
from cloud.provisioning.passwords import generate_password, hash_password
from fuhuiyang.services.mqtt import MosquittoProcess
from fuhuiyang.services.tls import ServerTls, issue_server_tls
from messaging.broker import BrokerAddress

log = logging.getLogger(__name__)

ADMIN = "fhy-admin"
PROBE_GATEWAY = "demo-barrier"  # the runner's sentinel: a gateway no farm owns (ingest quarantines it)
# The cloud processes the demo starts and the broker role each one's login gets.
SERVICE_ROLES = {"ingest": "ingest", "detect": "reader", "api": "publisher"}


@dataclass(frozen=True)
class Login:
    username: str
    password: str = field(repr=False)


def dynsec_plugin() -> str | None:
    found = sorted(glob.glob("/usr/lib/*/mosquitto_dynamic_security.so")
                   + glob.glob("/usr/lib/mosquitto_dynamic_security.so")
                   + glob.glob("/usr/local/lib/mosquitto_dynamic_security.so"))
    return found[0] if found else None


def unavailable_reason() -> str | None:
    """Why the secure broker cannot start here (None: it can)."""
    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        return "no mosquitto binary"
    if dynsec_plugin() is None:
        return "no mosquitto_dynamic_security.so plugin"
    return None


class WithProbe:
    """The provisioner's backend plus the runner's sentinel login, which no database row holds."""

    def __init__(self, inner: BrokerAuth, probe: Login) -> None:
        self.inner = inner
        self.probe = probe
        self._account = Account(probe.username, hash_password(probe.password), "gateway")
        self._created = False

    def apply(self, accounts: Sequence[Account], new_passwords: Mapping[str, str]) -> bool:
        # Its plaintext goes along until the broker has it (the plugin takes plaintext to create).
        passwords = dict(new_passwords) if self._created else {**new_passwords, self.probe.username: self.probe.password}
        applied = self.inner.apply([*accounts, self._account], passwords)
        self._created = self._created or applied
        return applied


@dataclass
class SecureBroker:
    process: MosquittoProcess
    tls: ServerTls
    admin_password: str = field(repr=False)
    probe: Login
    services: dict[str, Login] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return self.process.port

    def address(self, login: Login | None = None) -> BrokerAddress:
        return BrokerAddress("127.0.0.1", self.port, True, login.username if login else None,
                             login.password if login else None, str(self.tls.ca_file))

    def provisioner(self, conn: psycopg.Connection) -> Provisioner:
        control = DynsecControl(self.address(), ADMIN, self.admin_password)
        return Provisioner(conn, WithProbe(control, self.probe), self.address())

    def stop(self) -> None:
        self.process.stop()


def start_secure_broker(conn: psycopg.Connection, workdir: Path) -> SecureBroker:
    """TLS mosquitto with dynamic security on a free port; the cloud processes' logins issued."""
    plugin = dynsec_plugin()
    if plugin is None:
        raise RuntimeError("mosquitto_dynamic_security.so not found")
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o700)  # the CA and server keys, the plugin's file of password hashes
    tls = issue_server_tls(workdir)
    admin_password = generate_password()
    config = workdir / "dynamic-security.json"
    Provisioner(conn, DynsecFile(config, ADMIN, admin_password), BrokerAddress("127.0.0.1", 8883, True, None, None)
                ).sync()  # the broker reads it at start: the admin login (and what the database holds)
    # Started as root, mosquitto would drop to its own user, which cannot read this private folder.
    user = "user root\n" if os.geteuid() == 0 else ""
    process = MosquittoProcess(
        f"allow_anonymous false\n{user}plugin {plugin}\nplugin_opt_config_file {config}\n"
        f"certfile {tls.cert_file}\nkeyfile {tls.key_file}\n",
        workdir=workdir, tls=True)
    process.start()
    broker = SecureBroker(process, tls, admin_password, Login(PROBE_GATEWAY, secrets.token_urlsafe(18)))
    try:
        provisioner = broker.provisioner(conn)
        for process_name, role in SERVICE_ROLES.items():
            username = f"demo-{process_name}"
            broker.services[process_name] = Login(username, provisioner.add_service_account(username, role))
    except BaseException:
        process.stop()
        raise
    log.info("secure broker on mqtts://127.0.0.1:%d: TLS, dynamic security, %d service logins",
             broker.port, len(broker.services))
    return broker
