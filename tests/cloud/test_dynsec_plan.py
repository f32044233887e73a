"""The dynamic-security config and reconcile plan, without a broker."""

from __future__ import annotations

from cloud.provisioning.broker_auth import Account
from cloud.provisioning.dynsec import (
    ADMIN_ROLE,
    BrokerState,
    ClientState,
    config_document,
    desired_roles,
    reconcile,
)
from cloud.provisioning.passwords import hash_password

GW = Account("gw-a", hash_password("pa"), "gateway")
INGEST = Account("ingest-1", hash_password("pi"), "ingest")
ADMIN = Account("fhy-admin", hash_password("adm"), "admin")


def test_gateway_roles_name_only_the_gateways_own_topics() -> None:
    doc = config_document([GW, INGEST], ADMIN)
    assert doc["defaultACLAccess"] == {"publishClientSend": False, "publishClientReceive": False,
                                       "subscribe": False, "unsubscribe": True}
    roles = {r["rolename"]: r["acls"] for r in doc["roles"]}
    gateway = roles["fhy-gateway-gw-a"]
    assert all(acl["topic"].startswith("fhy/v1/gw-a/") and "+" not in acl["topic"] and "#" not in acl["topic"]
               for acl in gateway)
    assert {acl["acltype"] for acl in gateway} == {"publishClientSend", "subscribeLiteral", "publishClientReceive"}
    assert {"acltype": "subscribeLiteral", "topic": "fhy/v1/gw-a/config/desired", "priority": 0,
            "allow": True} in gateway
    assert not any(acl["acltype"] == "publishClientSend" and acl["topic"].endswith("config/desired")
                   for acl in gateway)  # a gateway never issues its own config
    clients = {c["username"]: c for c in doc["clients"]}
    assert clients["gw-a"]["clientid"] == "gw-a"  # bound: no other id, and no one else takes it
    assert "clientid" not in clients["ingest-1"]  # several worker processes share the login
    assert clients["gw-a"]["iterations"] == 101 and len(clients["gw-a"]["password"]) == 88


def test_a_hash_the_plugin_cannot_read_is_left_out_not_silently_mangled() -> None:
    doc = config_document([Account("gw-bad", "$6$plain-sha", "gateway"), GW], ADMIN)
    assert [c["username"] for c in doc["clients"]] == ["fhy-admin", "gw-a"]


def _state_matching(accounts: list[Account]) -> BrokerState:
    roles = {name: frozenset(acls) for name, acls in desired_roles(accounts).items()}
    clients = {a.username: ClientState(a.username if a.role == "gateway" else None,
                                       frozenset({f"fhy-gateway-{a.username}" if a.role == "gateway"
                                                  else f"fhy-{a.role}"}), frozenset(), False)
               for a in accounts}
    clients["fhy-admin"] = ClientState(None, frozenset({ADMIN_ROLE}), frozenset(), False)
    return BrokerState(clients, roles)


def test_an_unchanged_broker_gets_no_command_that_would_disconnect_anyone() -> None:
    plan = reconcile(_state_matching([GW, INGEST]), [GW, INGEST], {}, "fhy-admin")
    assert [c["command"] for c in plan.commands] == ["setDefaultACLAccess"]
    assert plan.missing == []


def test_reconcile_deletes_revoked_and_unknown_logins_and_repairs_drift() -> None:
    state = _state_matching([GW, INGEST])
    drifted = BrokerState(
        {**state.clients, "gw-a": ClientState(None, frozenset({"fhy-ingest"}), frozenset({"ops"}), True),
         "stranger": ClientState(None, frozenset(), frozenset(), False)},
        {**state.roles, "fhy-gateway-gw-a": state.roles["fhy-gateway-gw-a"] | {("subscribePattern", "$share/#")},
         "fhy-gateway-gone": frozenset()},
    )
    gw_b = Account("gw-b", hash_password("pb"), "gateway")
    plan = reconcile(drifted, [GW, gw_b, Account("reader-1", hash_password("r"), "reader")], {"gw-b": "pb"},
                     "fhy-admin")
    commands = [(c["command"], c.get("username") or c.get("rolename")) for c in plan.commands]
    assert ("deleteClient", "stranger") in commands and ("deleteClient", "ingest-1") in commands
    assert ("deleteClient", "fhy-admin") not in commands
    assert ("removeRoleACL", "fhy-gateway-gw-a") in commands
    assert ("setClientId", "gw-a") in commands and ("enableClient", "gw-a") in commands
    assert ("removeClientRole", "gw-a") in commands and ("addClientRole", "gw-a") in commands
    assert ("removeGroupClient", "gw-a") in commands
    assert ("createClient", "gw-b") in commands and ("createRole", "fhy-gateway-gw-b") in commands
    assert ("deleteRole", "fhy-gateway-gone") in commands
    assert commands.index(("createRole", "fhy-gateway-gw-b")) < commands.index(("createClient", "gw-b"))
    assert plan.missing == ["reader-1"]  # not at the broker, and only its hash is known
