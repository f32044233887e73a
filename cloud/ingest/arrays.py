"""PostgreSQL array literals built with str.join: the hot path of a batch write.

psycopg adapts a Python list element by element in Python; for the ~10 columns of
a 50,000-row batch that took longer than the INSERT itself. These literals are
sent as text parameters and cast in SQL (``%s::float8[]``), so the server parses
them in C.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any


def _quote(value: Any) -> str:
    if value is None:
        return "NULL"
    text = str(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def text_array(values: Sequence[Any]) -> str:
    """Text (or date, or json) elements; every element quoted, so 'NULL' stays a string."""
    if not values:
        return "{}"
    if None not in values:
        joined = '","'.join(map(str, values))
        # Only the separators' quotes present: no element needs escaping.
        if "\\" not in joined and joined.count('"') == 2 * (len(values) - 1):
            return '{"' + joined + '"}'
    return "{" + ",".join(map(_quote, values)) + "}"


def number_array(values: Sequence[Any]) -> str:
    """Integers or floats (repr round-trips floats exactly); None becomes NULL."""
    if None in values:
        return "{" + ",".join("NULL" if v is None else repr(v) for v in values) + "}"
    return "{" + ",".join(map(repr, values)) + "}"


_NUMERIC = {"bigint", "int", "integer", "float8", "real"}
_CAST = re.compile(r"%s::(\w+)\[\]")


@functools.cache
def column_types(statement: str) -> tuple[str, ...]:
    """The array element types of a statement's parameters, read from its ``%s::type[]`` casts."""
    return tuple(_CAST.findall(statement))


def literals(statement: str, columns: Sequence[Sequence[Any]]) -> list[Any]:
    """Parameters for `statement`: array literals per column (bytea is left to psycopg)."""
    types = column_types(statement)
    if len(types) != len(columns):
        raise ValueError(f"statement takes {len(types)} arrays, got {len(columns)} columns")
    return [
        number_array(values) if kind in _NUMERIC else values if kind == "bytea" else text_array(values)
        for kind, values in zip(types, columns, strict=True)
    ]
