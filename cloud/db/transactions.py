"""Units of work on a long-lived connection: several stores' writes committed, or undone, together.

Stores that read on a non-autocommit connection end the read transaction at once (`end_read`):
a long-lived worker must not hold one open. Inside a `unit_of_work` that commit would end the
unit half-way (psycopg refuses it outright), so `end_read` leaves it to the unit. Writes that
open their own `conn.transaction()` become savepoints of the unit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from weakref import WeakKeyDictionary

import psycopg

_open_units: WeakKeyDictionary[psycopg.Connection, int] = WeakKeyDictionary()


@contextmanager
def unit_of_work(conn: psycopg.Connection) -> Iterator[None]:
    """One transaction: committed when the block ends, rolled back when it raises."""
    if not in_unit(conn) and conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
        # Reads left open (not ended by `end_read`): end them, or the unit would only be a
        # savepoint inside that transaction and nothing would be committed at its end.
        conn.commit()
    with conn.transaction():
        _open_units[conn] = _open_units.get(conn, 0) + 1
        try:
            yield
        finally:
            _open_units[conn] -= 1


def in_unit(conn: psycopg.Connection) -> bool:
    return _open_units.get(conn, 0) > 0


def end_read(conn: psycopg.Connection) -> None:
    """End the read transaction, unless a unit of work owns it (then the unit commits)."""
    if not conn.autocommit and not in_unit(conn):
        conn.commit()
