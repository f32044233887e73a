"""A rollout stage's health from its gateways' reports, and what the controller does next (pure).

A stage opens by publishing the release to its gateways. Its rollback share is the share of its
gateways that rolled the release back by themselves or refused it; past `halt_share` the rollout
halts and no later stage opens. Once `advance_share` of the stage is healthy on the release (and
the soak time has passed) the next stage opens; gateways still pending (offline) keep the
retained release and report when they return.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

BAD_STATES = frozenset({"rolled_back", "refused"})


@dataclass(frozen=True)
class StageHealth:
    stage: int
    targets: int
    healthy: int
    rolled_back: int  # rolled back by themselves or refused
    pending: int  # not yet opened, waiting for a report, or on the way (downloading ... running_new)

    @property
    def rollback_share(self) -> float:
        return self.rolled_back / self.targets if self.targets else 0.0

    @property
    def healthy_share(self) -> float:
        return self.healthy / self.targets if self.targets else 1.0


def stage_health(stage: int, reports: Iterable[tuple[str, str | None]], version: str) -> StageHealth:
    """`reports`: (state, version the report is about) of each gateway of the stage."""
    targets = healthy = bad = 0
    for state, about in reports:
        targets += 1
        if about == version and state == "healthy":
            healthy += 1
        elif about == version and state in BAD_STATES:
            bad += 1
    return StageHealth(stage, targets, healthy, bad, targets - healthy - bad)


@dataclass(frozen=True)
class Decision:
    action: Literal["halt", "advance", "complete", "wait"]
    reason: str | None = None


def decide(health: StageHealth, *, last_stage: bool, halt_share: float, advance_share: float,
           soaked: bool) -> Decision:
    if health.rollback_share > halt_share:
        return Decision("halt", f"stage {health.stage}: {health.rolled_back} of {health.targets} gateways "
                                f"rolled back ({health.rollback_share:.0%} > {halt_share:.0%})")
    if health.healthy_share >= advance_share and soaked:
        return Decision("complete" if last_stage else "advance")
    return Decision("wait")
