"""The broker a provisioner works with, from the cloud settings: its auth files (when this
host manages them) and the address gateways are told to connect to (no credentials)."""

from __future__ import annotations

from cloud.ingest.subscriber import BrokerAddress
from cloud.provisioning.mosquitto_auth import MosquittoFiles
from cloud.settings import CloudSettings


def broker_files(settings: CloudSettings) -> MosquittoFiles | None:
    if settings.mosquitto_password_file is None or settings.mosquitto_acl_file is None:
        return None
    return MosquittoFiles(settings.mosquitto_password_file, settings.mosquitto_acl_file,
                          pid_file=settings.mosquitto_pid_file, reload_command=settings.mosquitto_reload_command)


def gateway_broker(settings: CloudSettings) -> BrokerAddress:
    address = BrokerAddress.parse(settings.gateway_mqtt_url or settings.mqtt_url)
    return BrokerAddress(address.host, address.port, address.tls, None, None)
