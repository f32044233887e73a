"""What provisioning needs from a broker's authentication: one call that brings it to the database's state.

The database is the source of truth. After every change the provisioner hands the backend the
complete list of broker accounts (and, for a login just created or re-keyed, its plaintext
password, which exists only at that moment); the backend makes the broker match: accounts
missing from the list are refused from then on and their live sessions ended.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Account:
    username: str
    password_hash: str
    role: str  # "gateway", "ingest", "publisher", "reader"


class BrokerAuthError(RuntimeError):
    """The broker could not be brought to the database's state (unreachable, refused a command)."""


class BrokerAuth(Protocol):
    def apply(self, accounts: Sequence[Account], new_passwords: Mapping[str, str]) -> bool:
        """Make the broker accept exactly `accounts`; True if a running broker took the change."""
        ...
