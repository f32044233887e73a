"""Broker auth through Mosquitto's dynamic-security plugin: live commands, or its config file offline.

`DynsecControl` is what register, rotate, revoke and sync use against a running broker: an admin
login publishes `$CONTROL/dynamic-security/v1` commands and reads the plugin's responses. Deleting
a client ends its live sessions, so revocation takes effect at once. `DynsecFile` renders the
plugin's config file from the database for a broker that is stopped (first deployment, or a
broker whose plugin file was lost): the plugin reads that file only at start and rewrites it
after every command, so writing it under a running broker would be overwritten.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from cloud.provisioning.broker_auth import Account, BrokerAuthError
from cloud.provisioning.dynsec import (
    CONTROL_TOPIC,
    RESPONSE_TOPIC,
    BrokerState,
    config_document,
    reconcile,
)
from cloud.provisioning.passwords import hash_password
from messaging.broker import BrokerAddress

log = logging.getLogger(__name__)

CHUNK = 200  # commands per control message, well under the broker's message size limit


class DynsecFile:
    """Writes the plugin's JSON config (a broker starting on it accepts exactly the database)."""

    def __init__(self, path: Path, admin_username: str, admin_password: str) -> None:
        self.path = path
        self.admin_username = admin_username
        self.admin_password = admin_password

    def apply(self, accounts: Sequence[Account], new_passwords: Mapping[str, str]) -> bool:
        admin = Account(self.admin_username, hash_password(self.admin_password), "admin")
        document = config_document([a for a in accounts if a.username != self.admin_username], admin)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(document, handle, indent=1)
            os.chmod(tmp, 0o600)  # hashes only, but still not for every local user
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        log.info("wrote the dynamic-security config for %d accounts to %s", len(document["clients"]) - 1,
                 self.path)
        return False


class DynsecControl:
    """Reconciles a running broker through the plugin's control topic."""

    def __init__(self, address: BrokerAddress, admin_username: str, admin_password: str,
                 *, timeout_s: float = 15.0) -> None:
        self.address = address
        self.admin_username = admin_username
        self.admin_password = admin_password
        self.timeout_s = timeout_s

    def apply(self, accounts: Sequence[Account], new_passwords: Mapping[str, str]) -> bool:
        accounts = [a for a in accounts if a.username != self.admin_username]
        with self._session() as send:
            listed = send([{"command": "listClients", "verbose": True, "count": -1},
                           {"command": "listRoles", "verbose": True, "count": -1}])
            state = BrokerState.from_responses(listed[0].get("data", {}), listed[1].get("data", {}))
            plan = reconcile(state, accounts, new_passwords, self.admin_username)
            for start in range(0, len(plan.commands), CHUNK):
                send(plan.commands[start:start + CHUNK])
        if plan.missing:
            # Only hashes are stored: the plugin's commands take plaintext passwords.
            log.warning("%d broker accounts exist in the database but not at the broker (e.g. %s): rotate "
                        "them, or stop the broker and render its config with `provision sync --offline`",
                        len(plan.missing), plan.missing[0])
        log.info("broker reconciled: %d accounts, %d commands", len(accounts), len(plan.commands) - 1)
        return True

    @contextmanager
    def _session(self) -> Iterator[Any]:
        responses: queue.Queue[bytes] = queue.Queue()
        ready = threading.Event()
        outcome: dict[str, Any] = {}
        client_tag = f"fhy-provision-{uuid.uuid4().hex[:8]}"
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_tag,
                             protocol=mqtt.MQTTv5, reconnect_on_failure=False)
        client.username_pw_set(self.admin_username, self.admin_password)
        if self.address.tls:
            client.tls_set(ca_certs=self.address.ca_file, cert_reqs=ssl.CERT_REQUIRED)

        def on_connect(c: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
            outcome["connack"] = reason
            if reason.is_failure:
                ready.set()
            else:
                c.subscribe(RESPONSE_TOPIC, qos=1)

        def on_subscribe(c: mqtt.Client, userdata: Any, mid: int, codes: Any, props: Any) -> None:
            outcome["suback"] = codes
            ready.set()

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_message = lambda c, u, message: responses.put(bytes(message.payload))
        try:
            client.connect(self.address.host, self.address.port)
        except OSError as exc:
            raise BrokerAuthError(f"broker {self.address.host}:{self.address.port} unreachable: {exc}") from exc
        client.loop_start()
        try:
            if not ready.wait(self.timeout_s):
                raise BrokerAuthError("broker did not answer the provisioning login")
            if outcome["connack"].is_failure:
                raise BrokerAuthError(f"broker refused the provisioning login: {outcome['connack']}")
            if any(code.is_failure for code in outcome["suback"]):
                raise BrokerAuthError("broker refused the dynamic-security response topic (admin role missing?)")

            sent = 0

            def send(commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
                nonlocal sent
                # The plugin answers every admin on one topic: tag our commands, skip others' answers.
                tag = f"{client_tag}-{sent}"
                sent += 1
                tagged = [{**command, "correlationData": f"{tag}-{i}"} for i, command in enumerate(commands)]
                client.publish(CONTROL_TOPIC, json.dumps({"commands": tagged}), qos=1)
                deadline = time.monotonic() + self.timeout_s
                while True:
                    try:
                        answer = json.loads(responses.get(timeout=max(0.0, deadline - time.monotonic())))
                    except queue.Empty:
                        raise BrokerAuthError("no response from the dynamic-security plugin "
                                              "(is it loaded, and may this login publish to $CONTROL?)") from None
                    replies: list[dict[str, Any]] = answer.get("responses", [])
                    if replies and replies[0].get("correlationData") == f"{tag}-0":
                        break
                if len(replies) != len(commands):
                    raise BrokerAuthError(f"{len(commands)} commands sent, {len(replies)} answered")
                failed = [f"{r.get('command')}: {r['error']}" for r in replies if r.get("error")]
                if failed:
                    raise BrokerAuthError("the broker refused " + "; ".join(failed[:5]))
                return replies

            yield send
        finally:
            client.disconnect()
            client.loop_stop()
