"""The one error type every decoder raises."""

from __future__ import annotations


class DecodeError(ValueError):
    """A message or topic that does not satisfy the wire contract.

    `reason` is a short stable code used as a metric label and quarantine reason
    (e.g. ``too_large``, ``bad_json``, ``invalid``, ``bad_topic``, ``bad_frame``,
    ``unsupported_version``); the message gives the human detail.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
