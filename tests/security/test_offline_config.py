"""`provision sync --offline` renders the plugin's config from the database (stored hashes only):
a broker started on it accepts exactly the database's gateways, each under its own client id."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from cloud.provisioning.gateways import Provisioner
from messaging.broker import BrokerAddress
from tests.security.conftest import SecuredBroker, add_farm, dynsec_plugin
from tests.security.sessions import Session, refused


def test_offline_render_from_the_database_is_what_the_broker_enforces(db, mosquitto_factory, tmp_path) -> None:
    with db.connect() as conn:
        add_farm(conn, "farm-a", "house-a")
        database_only = Provisioner(conn, None, BrokerAddress("127.0.0.1", 1883, False, None, None))
        a = database_only.register("farm-a", "gw-a")
        b = database_only.register("farm-a", "gw-b")
        database_only.revoke("gw-b")
    config = tmp_path / "auth" / "dynamic-security.json"
    admin_password = secrets.token_urlsafe(24)
    env = {**os.environ, **db.env(), "FUHUIYANG_DYNSEC_ADMIN_PASSWORD": admin_password,
           "FUHUIYANG_DYNSEC_CONFIG_FILE": str(config)}
    rendered = subprocess.run([sys.executable, "-m", "fuhuiyang", "cloud", "provision", "sync", "--offline"],
                              env=env, capture_output=True, text=True)
    assert rendered.returncode == 0, rendered.stderr
    assert a.password not in config.read_text() and admin_password not in config.read_text()

    broker = mosquitto_factory(
        f"allow_anonymous false\nuser root\nplugin {dynsec_plugin()}\nplugin_opt_config_file {config}\n")
    gw_a = Session(broker.port, "gw-a", a.password, "gw-a")
    assert gw_a.accepted
    assert refused(broker.port, "gw-a", a.password, "gw-a-copy")
    assert refused(broker.port, "gw-b", b.password, "gw-b")  # revoked before the render
    assert [c.value for c in gw_a.subscribe("$share/ingest/fhy/#")] == [0x87]

    # The live path finds nothing to change: gw-a keeps its session.
    with SecuredBroker(db, broker, admin_password).provisioner() as live:
        assert live.sync() is True
    assert not gw_a.disconnected.is_set()
    gw_a.close()
