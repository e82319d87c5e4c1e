"""`airflow.sdk.observability.stats` / `airflow.stats`: the `Stats` object operators report metrics to.

Airflow sends them nowhere unless StatsD or OpenTelemetry is configured; Leoflow's own metrics are
its Prometheus endpoint, so a provider's `Stats.incr(...)` is accepted and kept nowhere, as
Airflow's default (NoStatsLogger) does.
"""

from __future__ import annotations

import contextlib


class _NoStats:
    def incr(self, stat, count: int = 1, rate: float = 1, *, tags=None) -> None:
        return None

    def decr(self, stat, count: int = 1, rate: float = 1, *, tags=None) -> None:
        return None

    def gauge(self, stat, value, rate: float = 1, delta: bool = False, *, tags=None) -> None:
        return None

    def timing(self, stat, dt, *, tags=None) -> None:
        return None

    @contextlib.contextmanager
    def timer(self, *args, **kwargs):
        yield None


Stats = _NoStats()
