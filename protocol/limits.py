"""Size limits are part of the contract: senders must respect them, receivers enforce them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_json_bytes: int = 256 * 1024
    max_frame_bytes: int = 2 * 1024 * 1024
    max_frame_header_bytes: int = 4 * 1024
    max_points_per_batch: int = 2000
    max_weights_per_message: int = 2000
    max_summaries_per_message: int = 31
    max_config_bytes: int = 64 * 1024
    max_id_length: int = 64
    max_frame_side_px: int = 4096


LIMITS = Limits()
