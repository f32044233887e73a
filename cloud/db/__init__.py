"""Database: connections, migrations and time-series queries; `connect` is the entry point for other packages."""

from cloud.db.connection import connect

__all__ = ["connect"]
