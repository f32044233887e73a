"""Which broker auth backend the settings ask for, and the broker address gateways are given."""

from __future__ import annotations

from cloud.provisioning.broker_auth import BrokerAuth
from cloud.provisioning.dynsec_backend import DynsecControl, DynsecFile
from cloud.provisioning.mosquitto_auth import MosquittoFiles
from cloud.settings import CloudSettings
from messaging.broker import BrokerAddress


class BackendNotConfigured(ValueError):
    pass


def broker_auth(settings: CloudSettings, *, offline: bool = False) -> BrokerAuth | None:
    """Dynamic security when an admin password is set (live, or its config file when `offline`);
    else generated password/ACL files when those paths are set; else None (database only)."""
    if settings.dynsec_admin_password is not None:
        admin_password = settings.dynsec_admin_password.get_secret_value()
        if offline:
            if settings.dynsec_config_file is None:
                raise BackendNotConfigured("--offline renders FUHUIYANG_DYNSEC_CONFIG_FILE: set it")
            return DynsecFile(settings.dynsec_config_file, settings.dynsec_admin_username, admin_password)
        address = BrokerAddress.parse(settings.mqtt_url,
                                      ca_file=str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None)
        return DynsecControl(address, settings.dynsec_admin_username, admin_password)
    if offline:
        raise BackendNotConfigured("--offline renders the dynamic-security config: set "
                                   "FUHUIYANG_DYNSEC_ADMIN_PASSWORD and FUHUIYANG_DYNSEC_CONFIG_FILE")
    if settings.mosquitto_password_file is not None and settings.mosquitto_acl_file is not None:
        return MosquittoFiles(settings.mosquitto_password_file, settings.mosquitto_acl_file,
                              pid_file=settings.mosquitto_pid_file, reload_command=settings.mosquitto_reload_command)
    return None


def gateway_broker(settings: CloudSettings) -> BrokerAddress:
    address = BrokerAddress.parse(settings.gateway_mqtt_url or settings.mqtt_url)
    return BrokerAddress(address.host, address.port, address.tls, None, None)
