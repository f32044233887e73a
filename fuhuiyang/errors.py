"""Ordinary failures of any command, explained in one line instead of a traceback.

A database that is not there, a broker that refuses, a file that is missing: these are a
machine's state, not bugs, and every command meets them the same way. `explain` names the
problem and what to set; the top-level group (fuhuiyang/cli.py) prints it as one `Error:` line,
exits 1, counts it and keeps the traceback for `-vv`. Anything else still raises: a bug should
show where it is.

Recognised by class name and module, so a gateway install without psycopg imports nothing here.
"""

from __future__ import annotations

import errno
import logging
import re
import socket
from collections import Counter
from collections.abc import Iterator

log = logging.getLogger(__name__)

# Explained failures by kind in this process (`database`, `connection`, `file`, ...).
EXPLAINED: Counter[str] = Counter()

# Settings read from FUHUIYANG_* variables (gateway YAML files have `edge validate-config`).
_ENV_SETTINGS = {"CloudSettings": "FUHUIYANG_", "SmsSettings": "FUHUIYANG_SMS_"}
_FILE_ERRNOS = {
    errno.ENOENT: "no such file or directory",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "read-only file system",
    errno.ENOSPC: "no space left on the device",
    errno.EISDIR: "a folder where a file is expected",
    errno.ENOTDIR: "a file where a folder is expected",
    errno.EEXIST: "already exists (a file where a folder is expected?)",
}
_SERVER_FAILED = re.compile(r'connection to server (?:at "?([^",]+)"?(?:\s*\([^)]*\))?, port (\d+)|on socket "([^"]+)") '
                            r"failed:\s*(.*)", re.S)


def explain(exc: BaseException) -> tuple[str, str] | None:
    """(kind, one line) for an ordinary failure anywhere in `exc`'s chain; None for anything else."""
    for cause in _chain(exc):
        found = _one(cause)
        if found is not None:
            return found
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _names(exc: BaseException) -> set[str]:
    return {f"{k.__module__}.{k.__qualname__}" for k in type(exc).__mro__}


def _one(exc: BaseException) -> tuple[str, str] | None:
    names = _names(exc)
    if "psycopg.OperationalError" in names and not _is_server_side(exc):
        return "database", _database_line(exc)
    if "psycopg.errors.UndefinedTable" in names or "psycopg.errors.InvalidSchemaName" in names:
        return "database", (f"the database has no Fuhuiyang tables ({_first_line(exc)}); "
                            "run `fuhuiyang db migrate` (FUHUIYANG_DATABASE_URL, FUHUIYANG_DATABASE_SCHEMA)")
    if "pydantic_core._pydantic_core.ValidationError" in names and getattr(exc, "title", "") in _ENV_SETTINGS:
        return "settings", _settings_line(exc, _ENV_SETTINGS[exc.title])  # type: ignore[attr-defined]
    if "psycopg_pool.PoolTimeout" in names:
        return "database", ("no database connection within the pool's timeout: is PostgreSQL running "
                            "at FUHUIYANG_DATABASE_URL?")
    if isinstance(exc, OSError) and exc.errno in _FILE_ERRNOS and (exc.filename or isinstance(exc, FileNotFoundError)):
        where = exc.filename or _first_line(exc)
        return "file", f"{_FILE_ERRNOS[exc.errno]}: {where}"
    if isinstance(exc, ConnectionRefusedError) or (isinstance(exc, OSError) and exc.errno == errno.ECONNREFUSED):
        return "connection", ("connection refused: nothing listens at the configured address; is the broker or "
                              "database running? (FUHUIYANG_MQTT_URL, FUHUIYANG_DATABASE_URL)")
    if isinstance(exc, socket.gaierror):
        return "connection", f"unknown host ({exc.strerror}): check FUHUIYANG_MQTT_URL and FUHUIYANG_DATABASE_URL"
    if isinstance(exc, TimeoutError | socket.timeout) and "connect" in _first_line(exc).lower():
        return "connection", f"connection timed out ({_first_line(exc)})"
    return None


def _is_server_side(exc: BaseException) -> bool:
    """An OperationalError the server raised mid-query (a SQLSTATE such as a deadlock or a
    cancelled statement) is not a connection problem: leave it to the command."""
    return getattr(exc, "sqlstate", None) is not None


def _database_line(exc: BaseException) -> str:
    text = str(exc)
    match = _SERVER_FAILED.search(text)
    if match is None:
        return f"cannot connect to the database: {_first_line(exc)} (FUHUIYANG_DATABASE_URL)"
    host, port, sock, reason = match.groups()
    where = sock or f"{host}:{port}"
    reason = " ".join(reason.split()).removeprefix("FATAL: ").strip()
    missing = re.search(r'database "([^"]+)" does not exist', reason)
    if missing:
        return (f'the database "{missing.group(1)}" does not exist on the PostgreSQL server at {where}: '
                f"create it (createdb {missing.group(1)}) or point FUHUIYANG_DATABASE_URL at another")
    if "Connection refused" in reason:
        return f"no PostgreSQL server answers at {where} (connection refused): start it or set FUHUIYANG_DATABASE_URL"
    return f"cannot connect to the database at {where}: {reason} (FUHUIYANG_DATABASE_URL)"


def _settings_line(exc: BaseException, prefix: str) -> str:
    """`FUHUIYANG_JWT_TTL_MINUTES: Input should be a valid integer` for each refused setting."""
    problems = []
    for error in exc.errors():  # type: ignore[attr-defined]
        name = "_".join(str(part) for part in error.get("loc", ())).upper()
        where = f"{prefix}{name}: " if name else ""
        problems.append(where + str(error.get("msg", "invalid")))
    return f"invalid settings in the environment: {'; '.join(problems)}"


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
