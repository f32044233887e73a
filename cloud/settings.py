"""Cloud process settings, read from the environment (prefix FUHUIYANG_).

Documented in docs/configuration.md. Secrets come only from the environment.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/fuhuiyang"
DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"


class CloudSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FUHUIYANG_", extra="forbid")

    database_url: str = Field(DEFAULT_DATABASE_URL, description="PostgreSQL/TimescaleDB URL")
    database_schema: str = Field(
        "public", pattern=r"^[a-z_][a-z0-9_]{0,62}$", description="Schema holding our tables"
    )
    mqtt_url: str = Field(DEFAULT_MQTT_URL, description="mqtt[s]://[user:password@]host[:port]")
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    frames_dir: Path = Field(Path("var/frames"), description="Content-addressed JPEG store")
    frames_s3_url: str | None = Field(
        None, pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$",
        description="s3://bucket[/prefix]: keep frames in S3-compatible storage instead (extra 's3')",
    )
    frames_s3_endpoint: str | None = Field(None, description="S3 endpoint URL (MinIO, OSS, ...); keys from AWS_*")
    jwt_secret: SecretStr | None = Field(None, description="HS256 key for API tokens")
    timezone: str = Field("Asia/Shanghai", description="Farm-local day boundaries")
    # Provisioning (cloud.provisioning): the broker's dynamic-security plugin, or (without it)
    # generated password/ACL files and how to reload them.
    gateway_mqtt_url: str | None = Field(
        None, description="Broker address written into gateway.yaml (default: mqtt_url without credentials)"
    )
    dynsec_admin_password: SecretStr | None = Field(
        None, description="Broker login allowed to publish $CONTROL/dynamic-security commands (turns dynsec on)")
    dynsec_admin_username: str = Field("fhy-admin", pattern=r"^[A-Za-z0-9_.-]{1,64}$",
                                       description="Username of that login")
    dynsec_config_file: Path | None = Field(
        None, description="The plugin's plugin_opt_config_file, rendered by `provision sync --offline`")
    mosquitto_password_file: Path | None = Field(None, description="Generated mosquitto password_file")
    mosquitto_acl_file: Path | None = Field(None, description="Generated mosquitto acl_file")
    mosquitto_pid_file: Path | None = Field(None, description="SIGHUP this broker pid after changes")
    mosquitto_reload_command: str | None = Field(None, description="Or run this to reload the broker")
    jwt_ttl_minutes: int = Field(720, ge=1, le=60 * 24 * 30, description="API token lifetime")
    api_pool_size: int = Field(4, ge=1, le=64, description="API database connections (1 for PGlite)")
    database_prepared_statements: bool = Field(
        True, description="Server-side prepared statements; off behind PgBouncer transaction pooling or PGlite")
    api_metrics: bool = Field(True, description="Serve Prometheus /metrics from the API")
    api_alert_feed: bool = Field(
        True, description="LISTEN for alert changes to feed /alerts/stream (one more connection; off for PGlite)")
    reports_dir: Path = Field(Path("var/reports"), description="Where scheduled weekly reports are written")
