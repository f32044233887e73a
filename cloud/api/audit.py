"""Every change writes one audit row in the same transaction as the change."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb


def record(conn: psycopg.Connection, user_id: int | None, action: str, entity: str,
           entity_id: str | None, detail: dict[str, Any] | None = None) -> None:
    conn.execute(
        "INSERT INTO audit_log (user_id, action, entity, entity_id, detail) VALUES (%s, %s, %s, %s, %s)",
        (user_id, action, entity, entity_id, Jsonb(detail or {})),
    )
