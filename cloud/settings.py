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
    jwt_secret: SecretStr | None = Field(None, description="HS256 key for API tokens")
    timezone: str = Field("Asia/Shanghai", description="Farm-local day boundaries")
