"""Device drivers: thin adapters over device libraries, chosen by config.

Every driver raises only `DriverError` for device trouble, so the agent can mark the device
missing and carry on with the rest.
"""

from __future__ import annotations


class DriverError(RuntimeError):
    """A device did not answer or answered garbage."""
