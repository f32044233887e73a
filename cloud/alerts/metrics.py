"""Prometheus metrics for one alert worker process (a registry per process, made by its composition root)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class AlertMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.step_failures = Counter(
            "fhy_alerts_step_failures",
            "Alert cycle steps that failed for one farm (rolled back, retried next cycle)",
            ["step"],
            registry=r,
        )
        self.batch_fallbacks = Counter(
            "fhy_alerts_batch_fallbacks",
            "Batched reads that failed and were read again farm by farm",
            ["step"],
            registry=r,
        )
