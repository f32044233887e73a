"""Attack: a production deployment left with a passwordless database or broker (trust auth, an
anonymous listener), or served as plain HTTP. Production settings refuse to start that way;
compose refuses to start without DB_PASSWORD and puts a TLS proxy in front of the API.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from cloud.settings import CloudSettings

COMPOSE = Path(__file__).resolve().parents[2] / "deploy" / "compose.yaml"
GOOD = {"database_url": "postgresql://fuhuiyang:s3cret@db:5432/fuhuiyang",
        "mqtt_url": "mqtts://api:s3cret@broker:8883", "jwt_secret": "j" * 32}


def production(**overrides: str) -> CloudSettings:
    return CloudSettings(**{"environment": "production", **GOOD, **overrides})  # type: ignore[arg-type]


def test_production_accepts_urls_with_passwords() -> None:
    assert production().environment == "production"
    # Broker credentials may come as separate settings; a key=value DSN may carry the password.
    assert production(mqtt_url="mqtts://broker:8883", mqtt_username="api", mqtt_password="s3cret")
    assert production(database_url="host=db dbname=fuhuiyang user=fuhuiyang password=s3cret")


@pytest.mark.parametrize("overrides,complaint", [
    ({"database_url": "postgresql://postgres@127.0.0.1:5432/fuhuiyang"}, "DATABASE_URL"),
    ({"database_url": "host=db dbname=fuhuiyang user=fuhuiyang"}, "DATABASE_URL"),
    ({"mqtt_url": "mqtt://broker:1883"}, "MQTT_URL"),
    ({"mqtt_url": "mqtts://api@broker:8883"}, "MQTT_URL"),
    ({"jwt_secret": "short"}, "JWT_SECRET"),
])
def test_production_refuses_passwordless_urls(overrides: dict[str, str], complaint: str) -> None:
    with pytest.raises(ValidationError) as refused:
        production(**overrides)
    assert complaint in str(refused.value)
    assert "s3cret" not in str(refused.value)  # the error never echoes the other secrets


def test_development_keeps_its_defaults() -> None:
    assert CloudSettings().environment == "development"  # local demo: trust auth, plain broker


def test_compose_requires_db_password_and_terminates_tls() -> None:
    text = COMPOSE.read_text()
    assert "${DB_PASSWORD}" not in text and text.count("${DB_PASSWORD:?") >= 3
    services = yaml.safe_load(text)["services"]
    assert "ports" not in services["api"]  # the API is reached only through the TLS proxy
    assert "443:443" in services["proxy"]["ports"]
    for name in ("api", "ingest", "detect", "alerts"):
        env = services[name].get("environment") or yaml.safe_load(text)["x-app"]["environment"]
        assert env["FUHUIYANG_ENVIRONMENT"] == "production", name
    caddyfile = (COMPOSE.parent / "Caddyfile").read_text()
    assert "reverse_proxy api:8000" in caddyfile


def test_compose_services_reach_the_broker_as_provisioning_expects() -> None:
    """The defects that kept the shipped compose file from coming up as documented."""
    document = yaml.safe_load(COMPOSE.read_text())
    services = document["services"]
    # Console provisioning: the API holds the admin login and the broker's auth volume, where
    # `provision sync --offline` renders the plugin's file that the broker reads at start.
    api = services["api"]
    assert "broker-auth:/mosquitto/auth" in api["volumes"]
    assert "broker-auth:/mosquitto/auth" in services["broker"]["volumes"]
    assert api["environment"]["FUHUIYANG_DYNSEC_CONFIG_FILE"].startswith("/mosquitto/auth/")
    assert api["environment"]["FUHUIYANG_DYNSEC_ADMIN_PASSWORD"]
    # Stable client ids: a container's hostname changes when it is recreated, and with it the
    # session the broker keeps unacknowledged messages under.
    for name in ("ingest", "detect"):
        command = services[name]["command"]
        assert "--client-id" in command, name
        assert command[command.index("--client-id") + 1] == f"{name}-1"
    # mqtts:// to a certificate signed by the programme's own CA: every client trusts that CA.
    for name in ("api", "ingest", "detect"):
        env = services[name]["environment"]
        ca = env["FUHUIYANG_MQTT_CA_FILE"]
        assert any(v.endswith(f":{ca}:ro") for v in services[name]["volumes"]), name
        assert env["FUHUIYANG_MQTT_URL"].startswith("mqtts://")
