"""A private Mosquitto whose logins and ACLs come from the project's provisioning (dynamic security).

The broker starts on the plugin config that `provision sync --offline` renders from the database
(only the admin login exists then); every gateway and worker login is then created live through
the Provisioner, as the CLI and the API do.
"""

from __future__ import annotations

import glob
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
import pytest

from cloud.provisioning.dynsec_backend import DynsecControl, DynsecFile
from cloud.provisioning.gateways import Provisioner
from fuhuiyang.services.mqtt import MosquittoProcess
from messaging.broker import BrokerAddress
from tests.support.databases import TestDatabase

ADMIN = "fhy-admin"


def dynsec_plugin() -> str:
    found = sorted(glob.glob("/usr/lib/*/mosquitto_dynamic_security.so") + glob.glob("/usr/lib/mosquitto_dynamic_security.so"))
    if not found:
        raise RuntimeError("mosquitto_dynamic_security.so not found: install Debian's mosquitto package")
    return found[0]


@dataclass
class SecuredBroker:
    db: TestDatabase
    broker: MosquittoProcess
    admin_password: str = field(repr=False)

    @property
    def port(self) -> int:
        return self.broker.port

    def url(self, username: str, password: str) -> str:
        return f"mqtt://{username}:{password}@127.0.0.1:{self.port}"

    @contextmanager
    def provisioner(self) -> Iterator[Provisioner]:
        control = DynsecControl(BrokerAddress("127.0.0.1", self.port, False, None, None), ADMIN,
                                self.admin_password)
        with self.db.connect() as conn:
            yield Provisioner(conn, control, BrokerAddress("127.0.0.1", self.port, False, None, None))


def add_farm(conn: psycopg.Connection, farm_id: str, house_id: str) -> None:
    conn.execute("INSERT INTO regions (id, level, name) VALUES (%s, 'county', 'R') ON CONFLICT DO NOTHING",
                 ("r-sec",))
    conn.execute("INSERT INTO farms (id, name, region_id) VALUES (%s, %s, 'r-sec')", (farm_id, farm_id))
    conn.execute("INSERT INTO houses (id, farm_id, name) VALUES (%s, %s, %s)", (house_id, farm_id, house_id))
    conn.commit()


@pytest.fixture
def secured(db, mosquitto_factory, tmp_path) -> SecuredBroker:
    admin_password = secrets.token_urlsafe(24)
    config = tmp_path / "dynsec" / "dynamic-security.json"
    with db.connect() as conn:
        add_farm(conn, "farm-a", "house-a")
        add_farm(conn, "farm-b", "house-b")
        offline = Provisioner(conn, DynsecFile(config, ADMIN, admin_password),
                              BrokerAddress("127.0.0.1", 1883, False, None, None))
        assert offline.sync() is False  # written for the broker to read at start
    broker = mosquitto_factory(
        # user root: the plugin rewrites its file in this root-only temp dir after every command.
        f"allow_anonymous false\nuser root\nplugin {dynsec_plugin()}\nplugin_opt_config_file {config}\n")
    return SecuredBroker(db, broker, admin_password)
