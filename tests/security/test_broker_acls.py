"""A hostile gateway against the broker's ACLs (issue 23, items 1-2): with one gateway's credentials
it can neither join the ingest workers' shared group nor take over another client's id, and
revocation ends its live session. Broker: a private Mosquitto configured by the project's
provisioning (dynamic-security plugin); ingest: the real worker."""

from __future__ import annotations

import threading

from cloud.provisioning.gateways import Credentials
from protocol import Kind, encode, topic_for
from tests.cloud.conftest import count, running_ingest, telemetry, wait_until
from tests.security.conftest import SecuredBroker
from tests.security.sessions import Session, refused

NOT_AUTHORIZED = 0x87


def provision(secured: SecuredBroker) -> tuple[Credentials, Credentials, str]:
    with secured.provisioner() as prov:
        a = prov.register("farm-a", "gw-a")
        b = prov.register("farm-b", "gw-b")
        ingest_password = prov.add_service_account("ingest-1", "ingest")
    return a, b, ingest_password


def test_a_gateway_cannot_join_the_ingest_group_and_every_message_is_stored(secured, tmp_path) -> None:
    a, b, ingest_password = provision(secured)
    with running_ingest(secured.db, secured.url("ingest-1", ingest_password), tmp_path, client_id="ingest-w1",
                        group="ingest"):
        attacker = Session(secured.port, "gw-a", a.password, "gw-a")
        assert attacker.accepted
        # Joining the group would make the broker hand it (and drop) a share of every message.
        for topic in ("$share/ingest/fhy/#", "$share/ingest/fhy/v1/gw-b/telemetry", "$share/x/fhy/#", "fhy/#",
                      "fhy/v1/gw-b/telemetry", "fhy/v1/+/config/desired", "fhy/v1/gw-b/config/desired",
                      "$CONTROL/dynamic-security/v1/response", "$SYS/#", "#"):
            assert [code.value for code in attacker.subscribe(topic)] == [NOT_AUTHORIZED], topic
        # The refusals are about the filters: its own config topic is granted.
        assert not attacker.subscribe(topic_for("gw-a", Kind.CONFIG_DESIRED))[0].is_failure

        victim = Session(secured.port, "gw-b", b.password, "gw-b")
        topic = topic_for("gw-b", Kind.TELEMETRY)
        codes = [victim.publish(topic, encode(telemetry("gw-b", seq, points=1, house="house-b")))
                 for seq in range(100)]
        assert not any(code.is_failure for code in codes)
        wait_until(lambda: count(secured.db, "SELECT count(DISTINCT seq) FROM readings WHERE gateway_id = 'gw-b'")
                   == 100, what="100 of 100 of gw-b's messages stored")
        assert attacker.messages == []
        victim.close()
        attacker.close()


def test_b_client_id_takeover_is_refused_and_the_owner_stays_connected(secured, tmp_path) -> None:
    a, b, ingest_password = provision(secured)
    with running_ingest(secured.db, secured.url("ingest-1", ingest_password), tmp_path,
                        client_id="ingest-w1") as (_, metrics, subscriber):
        connections = subscriber._generation  # bumped on every (re)connect of the worker
        victim = Session(secured.port, "gw-b", b.password, "gw-b")
        # Another gateway's id, the ingest worker's id, a broker-assigned id, any id but its own.
        for stolen in ("gw-b", "ingest-w1", "", "gw-a-2"):
            assert refused(secured.port, "gw-a", a.password, stolen), stolen
        assert not victim.disconnected.is_set()
        assert subscriber._generation == connections
        assert metrics.registry.get_sample_value("fhy_ingest_broker_connected") == 1
        # The owner's session still carries data end to end.
        code = victim.publish(topic_for("gw-b", Kind.TELEMETRY), encode(telemetry("gw-b", 1, points=1,
                                                                                  house="house-b")))
        assert not code.is_failure
        wait_until(lambda: count(secured.db, "SELECT count(*) FROM readings WHERE gateway_id = 'gw-b'") == 1,
                   what="gw-b's message after the takeover attempts")
        # Control: under its own id the same login is accepted.
        own = Session(secured.port, "gw-a", a.password, "gw-a")
        assert own.accepted
        own.close()
        victim.close()


def test_c_revocation_and_rotation_end_live_sessions_and_sync_keeps_the_rest(secured) -> None:
    a, b, _ = provision(secured)
    gw_a = Session(secured.port, "gw-a", a.password, "gw-a")
    gw_b = Session(secured.port, "gw-b", b.password, "gw-b")
    assert gw_a.accepted and gw_b.accepted

    with secured.provisioner() as prov:
        prov.revoke("gw-b")
    assert gw_b.disconnected.wait(15), "revoked gateway still connected"
    assert refused(secured.port, "gw-b", b.password, "gw-b")
    assert not gw_a.disconnected.is_set()  # only the revoked gateway was touched

    with secured.provisioner() as prov:
        assert prov.sync() is True  # nothing changed: nobody is disconnected
    assert not gw_a.disconnected.is_set()

    with secured.provisioner() as prov:
        rotated = prov.rotate("gw-a")
    assert gw_a.disconnected.wait(15), "session on the old password survived the rotation"
    assert refused(secured.port, "gw-a", a.password, "gw-a")
    fresh = Session(secured.port, "gw-a", rotated.password, "gw-a")
    assert fresh.accepted
    assert not fresh.publish(topic_for("gw-a", Kind.STATUS), b"{}").is_failure
    fresh.close()


def test_c_a_login_added_at_the_broker_behind_the_database_is_removed_by_sync(secured) -> None:
    a, _, _ = provision(secured)
    # Someone with the admin login adds a client by hand; the database knows nothing of it.
    intruder = Session(secured.port, "fhy-admin", secured.admin_password, "admin-by-hand")
    intruder.publish("$CONTROL/dynamic-security/v1", b'{"commands": [{"command": "createClient", '
                     b'"username": "extra", "password": "extra-pw", "roles": [{"rolename": "fhy-ingest"}]}]}')
    intruder.close()
    wait_until(lambda: not refused(secured.port, "extra", "extra-pw", "extra-1"), what="hand-made login works")
    with secured.provisioner() as prov:
        prov.sync()
    assert refused(secured.port, "extra", "extra-pw", "extra-1")
    assert Session(secured.port, "gw-a", a.password, "gw-a").accepted


def test_provisioning_ignores_the_answers_to_another_admins_commands(secured) -> None:
    """The plugin answers every admin on one response topic; a provisioner must read only its own."""
    provision(secured)
    other = Session(secured.port, "fhy-admin", secured.admin_password, "another-admin")
    assert not other.subscribe("$CONTROL/dynamic-security/v1/response")[0].is_failure
    stop = threading.Event()

    def chatter() -> None:
        while not stop.is_set():
            other.client.publish("$CONTROL/dynamic-security/v1", b'{"commands": [{"command": "listGroups"}]}')
            stop.wait(0.002)

    thread = threading.Thread(target=chatter, daemon=True)
    thread.start()
    try:
        with secured.provisioner() as prov:
            for _ in range(5):
                assert prov.sync() is True
            prov.revoke("gw-b")
    finally:
        stop.set()
        thread.join(5)
    assert any(b"listGroups" in payload for _, payload, _ in other.messages)  # the chatter was answered
    other.close()
