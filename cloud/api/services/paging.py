"""Running a scoped SELECT as one page plus its total."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from cloud.api.pagination import PageParams


def rows(conn: psycopg.Connection, query: str, params: dict[str, Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()


def one(conn: psycopg.Connection, query: str, params: dict[str, Any] | tuple[Any, ...] = ()) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return cur.fetchone()


def page(conn: psycopg.Connection, select: str, from_where: str, order: str, params: dict[str, Any],
         paging: PageParams) -> tuple[list[dict[str, Any]], int]:
    """`SELECT <select> FROM <from_where> ORDER BY <order>` limited to the page, and the count."""
    total_row = conn.execute(f"SELECT count(*) FROM {from_where}", params).fetchone()
    items = rows(conn, f"SELECT {select} FROM {from_where} ORDER BY {order} LIMIT %(limit)s OFFSET %(offset)s",
                 {**params, "limit": paging.limit, "offset": paging.offset})
    return items, int(total_row[0]) if total_row else 0
