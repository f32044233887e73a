"""Mosquitto's dynamic-security plugin: roles, clients and the commands that reconcile them.

Pure functions over plain data. Each gateway is a plugin client whose `clientid` is bound to its
username (no one else can take its client id, and it can use no other), with a role of its own:
publish to its own uplink topics, subscribe to and receive its own desired config, nothing else.
Mosquitto 2.0's plugin has no `%u`/`%c` substitution in ACLs, hence one role per gateway. Cloud
workers share a role per kind. The default ACL access denies publishing, subscribing and
receiving, so a gateway's `$share/<group>/...` subscription is refused and it can never join a
worker's shared group.

The plugin's own JSON file (`plugin_opt_config_file`) is read once at broker start and rewritten
by the plugin after every `$CONTROL/dynamic-security/v1` command; `config_document` renders it
from the database for a broker that is not running, `reconcile` computes the commands that bring
a running broker to the database's state.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from cloud.provisioning.broker_auth import Account
from cloud.provisioning.passwords import HASH_BYTES, SALT_BYTES, split_hash
from protocol.topics import PREFIX, UPLINK_KINDS, VERSION, Kind

log = logging.getLogger(__name__)

CONTROL_TOPIC = "$CONTROL/dynamic-security/v1"
RESPONSE_TOPIC = f"{CONTROL_TOPIC}/response"

PUBLISH = "publishClientSend"
RECEIVE = "publishClientReceive"
SUBSCRIBE_LITERAL = "subscribeLiteral"
SUBSCRIBE_PATTERN = "subscribePattern"

# Deny by default: every right a client has comes from its role. Unsubscribing is harmless.
DEFAULT_ACL_ACCESS = {PUBLISH: False, RECEIVE: False, "subscribe": False, "unsubscribe": True}

GATEWAY_ROLE_PREFIX = "fhy-gateway-"
ADMIN_ROLE = "fhy-admin"
SERVICE_ROLE_PREFIX = "fhy-"

Acl = tuple[str, str]  # (acltype, topic); every ACL we write allows


def _base() -> str:
    return f"{PREFIX}/{VERSION}"


def _service_acls(role: str) -> list[Acl]:
    everything = f"{PREFIX}/#"
    if role in ("ingest", "reader"):  # reader: detection workers, dashboards (read-only)
        # Any group name: `$share/<group>/...` is for cloud workers only, gateways have no
        # subscribe right outside their own config and receipt topics.
        reads: list[Acl] = [(SUBSCRIBE_PATTERN, f"$share/+/{everything}"), (SUBSCRIBE_PATTERN, everything),
                            (RECEIVE, everything)]
        if role == "ingest":  # delivery receipts: what ingest stored, per gateway
            return [*reads, (PUBLISH, f"{_base()}/+/{Kind.RECEIPT.value}")]
        return reads
    if role == "publisher":  # the API pushing desired config
        applied = f"{_base()}/+/{Kind.CONFIG_APPLIED.value}"
        return [(PUBLISH, f"{_base()}/+/{Kind.CONFIG_DESIRED.value}"),
                (PUBLISH, f"{_base()}/+/{Kind.RELEASE_DESIRED.value}"),
                (PUBLISH, f"{_base()}/+/{Kind.ALARM_ACK.value}"),
                (SUBSCRIBE_PATTERN, applied), (RECEIVE, applied)]
    raise ValueError(f"unknown broker role {role!r}")


def gateway_acls(gateway_id: str) -> list[Acl]:
    own = f"{_base()}/{gateway_id}"
    reads = [f"{own}/{Kind.CONFIG_DESIRED.value}", f"{own}/{Kind.RECEIPT.value}",
             f"{own}/{Kind.RELEASE_DESIRED.value}", f"{own}/{Kind.ALARM_ACK.value}"]
    return ([(PUBLISH, f"{own}/{kind}") for kind in sorted(k.value for k in UPLINK_KINDS)]
            + [acl for topic in reads for acl in ((SUBSCRIBE_LITERAL, topic), (RECEIVE, topic))])


ADMIN_ACLS: list[Acl] = [(PUBLISH, CONTROL_TOPIC), (SUBSCRIBE_LITERAL, RESPONSE_TOPIC), (RECEIVE, RESPONSE_TOPIC)]


def role_name(account: Account) -> str:
    if account.role == "gateway":
        return GATEWAY_ROLE_PREFIX + account.username
    return SERVICE_ROLE_PREFIX + account.role


def role_acls(account: Account) -> list[Acl]:
    return gateway_acls(account.username) if account.role == "gateway" else _service_acls(account.role)


def bound_client_id(account: Account) -> str | None:
    """A gateway connects only as itself; workers run several processes under one login."""
    return account.username if account.role == "gateway" else None


def desired_roles(accounts: Sequence[Account]) -> dict[str, list[Acl]]:
    roles = {ADMIN_ROLE: ADMIN_ACLS}
    for account in accounts:
        roles[role_name(account)] = role_acls(account)
    return roles


def _acl_json(acl: Acl) -> dict[str, Any]:
    return {"acltype": acl[0], "topic": acl[1], "priority": 0, "allow": True}


def _hash_fields(password_hash: str) -> dict[str, Any]:
    parts = split_hash(password_hash)
    if len(parts.salt) != SALT_BYTES or len(parts.digest) != HASH_BYTES:
        raise ValueError(f"the plugin needs a {SALT_BYTES}-byte salt and a {HASH_BYTES}-byte hash")
    return {"salt": base64.b64encode(parts.salt).decode(), "password": base64.b64encode(parts.digest).decode(),
            "iterations": parts.iterations}


def config_document(accounts: Sequence[Account], admin: Account) -> dict[str, Any]:
    """The plugin's config file, complete: what a broker starting on it accepts is the database."""
    clients: list[dict[str, Any]] = [
        {"username": admin.username, "textname": "fuhuiyang provisioning",
         "roles": [{"rolename": ADMIN_ROLE}], **_hash_fields(admin.password_hash)},
    ]
    for account in sorted(accounts, key=lambda a: a.username):
        try:
            secret = _hash_fields(account.password_hash)
        except ValueError as exc:  # the plugin would skip the entry silently: say so
            log.warning("broker account %s left out of the dynamic-security config: %s", account.username, exc)
            continue
        entry: dict[str, Any] = {"username": account.username, "roles": [{"rolename": role_name(account)}], **secret}
        if (clientid := bound_client_id(account)) is not None:
            entry["clientid"] = clientid
        clients.append(entry)
    return {
        "defaultACLAccess": dict(DEFAULT_ACL_ACCESS),
        "clients": clients,
        "groups": [],
        "roles": [{"rolename": name, "acls": [_acl_json(acl) for acl in acls]}
                  for name, acls in sorted(desired_roles(accounts).items())],
    }


# --- a running broker -------------------------------------------------------------------------
@dataclass(frozen=True)
class ClientState:
    clientid: str | None
    roles: frozenset[str]
    groups: frozenset[str]
    disabled: bool


@dataclass(frozen=True)
class BrokerState:
    clients: dict[str, ClientState]
    roles: dict[str, frozenset[Acl]]  # only ACLs that allow; a deny we did not write is "extra"
    denies: dict[str, frozenset[Acl]] = field(default_factory=dict)

    @classmethod
    def from_responses(cls, list_clients: Mapping[str, Any], list_roles: Mapping[str, Any]) -> BrokerState:
        """From the `data` of verbose `listClients` and `listRoles` responses."""
        clients = {
            c["username"]: ClientState(
                c.get("clientid") or None,
                frozenset(r["rolename"] for r in c.get("roles", [])),
                frozenset(g["groupname"] for g in c.get("groups", [])),
                bool(c.get("disabled", False)),
            )
            for c in list_clients.get("clients", [])
        }
        roles: dict[str, frozenset[Acl]] = {}
        denies: dict[str, frozenset[Acl]] = {}
        for role in list_roles.get("roles", []):
            acls = role.get("acls", [])
            roles[role["rolename"]] = frozenset((a["acltype"], a["topic"]) for a in acls if a.get("allow"))
            denies[role["rolename"]] = frozenset((a["acltype"], a["topic"]) for a in acls if not a.get("allow"))
        return cls(clients, roles, denies)


@dataclass(frozen=True)
class Plan:
    commands: list[dict[str, Any]]
    missing: list[str]  # in the database, not at the broker, and no plaintext password to create them with


def reconcile(state: BrokerState, accounts: Sequence[Account], new_passwords: Mapping[str, str],
              admin_username: str) -> Plan:
    """Commands that make a running broker accept exactly `accounts`, each with its own role.

    Only what differs is sent: the plugin disconnects a client whose password, client id or
    roles change, so an unchanged gateway keeps its session through a sync.
    """
    commands: list[dict[str, Any]] = [{"command": "setDefaultACLAccess", "acls": [
        {"acltype": kind, "allow": allow} for kind, allow in DEFAULT_ACL_ACCESS.items()]}]
    wanted = {a.username: a for a in accounts}
    # Revoked or unknown logins first: deleting a client ends its live sessions.
    for username in sorted(set(state.clients) - set(wanted) - {admin_username}):
        commands.append({"command": "deleteClient", "username": username})

    roles = desired_roles(accounts)
    for name, acls in sorted(roles.items()):
        if name not in state.roles:
            commands.append({"command": "createRole", "rolename": name, "acls": [_acl_json(a) for a in acls]})
            continue
        extra = (state.roles[name] - set(acls)) | state.denies.get(name, frozenset())
        for acltype, topic in sorted(extra):
            commands.append({"command": "removeRoleACL", "rolename": name, "acltype": acltype, "topic": topic})
        for acl in acls:
            if acl not in state.roles[name]:
                commands.append({"command": "addRoleACL", "rolename": name, **_acl_json(acl)})

    missing: list[str] = []
    for username, account in sorted(wanted.items()):
        role, clientid, password = role_name(account), bound_client_id(account), new_passwords.get(username)
        current = state.clients.get(username)
        if current is None:
            if password is None:
                missing.append(username)
                continue
            create: dict[str, Any] = {"command": "createClient", "username": username, "password": password,
                                      "roles": [{"rolename": role}]}
            if clientid is not None:
                create["clientid"] = clientid
            commands.append(create)
            continue
        if password is not None:
            commands.append({"command": "setClientPassword", "username": username, "password": password})
        if current.clientid != clientid:
            set_id: dict[str, Any] = {"command": "setClientId", "username": username}
            if clientid is not None:
                set_id["clientid"] = clientid
            commands.append(set_id)
        for other in sorted(current.roles - {role}):
            commands.append({"command": "removeClientRole", "username": username, "rolename": other})
        if role not in current.roles:
            commands.append({"command": "addClientRole", "username": username, "rolename": role})
        for group in sorted(current.groups):
            commands.append({"command": "removeGroupClient", "groupname": group, "username": username})
        if current.disabled:
            commands.append({"command": "enableClient", "username": username})

    # Roles of gateways that are gone (after their clients, so nothing still holds them).
    for name in sorted(state.roles):
        if name.startswith(GATEWAY_ROLE_PREFIX) and name not in roles:
            commands.append({"command": "deleteRole", "rolename": name})
    return Plan(commands, missing)
