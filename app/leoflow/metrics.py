"""Prometheus metrics (`GET /metrics`, text format), served by `leoflow server` and, when asked, by lite.

The parts record what they measure through the small functions below; until `enable()` runs they do
nothing and `prometheus_client` is not even imported, so lite's start and tasks pay nothing for it.
Counts held in the database (task instances by state, import errors) are read when scraped, cached
for a few seconds; everything else is what this process saw.
"""

from __future__ import annotations

import threading
import time

_metrics = None  # the collectors, once enabled
_lock = threading.Lock()

DURATION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
FAST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
DB_COUNTS_CACHE_SECONDS = 5.0


class _Collectors:
    def __init__(self, engine):
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = registry = CollectorRegistry()
        self.engine = engine
        self.scheduler_loop = Histogram("leoflow_scheduler_loop_duration_seconds",
                                        "Time one scheduler pass took", buckets=FAST_BUCKETS, registry=registry)
        self.scheduler_leader = Gauge("leoflow_scheduler_leader", "1 while this process's scheduler leads",
                                      registry=registry)
        self.executor_open = Gauge("leoflow_executor_open_slots", "Free task slots of this process's executor",
                                   ["executor"], registry=registry)
        self.executor_running = Gauge("leoflow_executor_running_tasks", "Tries this process's executor runs",
                                      ["executor"], registry=registry)
        self.task_duration = Histogram("leoflow_task_duration_seconds", "Start to end of finished tries",
                                       ["state"], buckets=DURATION_BUCKETS, registry=registry)
        self.queue_delay = Histogram("leoflow_task_queue_delay_seconds", "Queued to running, per try",
                                     buckets=FAST_BUCKETS + (30, 60, 300), registry=registry)
        self.tasks_finished = Counter("leoflow_task_instances_finished_total",
                                      "Tries that ended, as reported to this process", ["state"], registry=registry)
        self.dag_processing = Histogram("leoflow_dag_file_processing_duration_seconds",
                                        "Parsing one DAG file (in its own child process)",
                                        buckets=FAST_BUCKETS + (30, 60), registry=registry)
        self.http_requests = Counter("leoflow_http_requests_total", "HTTP requests answered",
                                     ["route", "method", "status"], registry=registry)
        self.http_duration = Histogram("leoflow_http_request_duration_seconds", "Time to answer a request",
                                       ["route"], buckets=FAST_BUCKETS, registry=registry)
        self.ti_states = Gauge("leoflow_task_instances", "Task instances in the database by state", ["state"],
                               registry=registry)
        self.import_errors = Gauge("leoflow_dag_import_errors", "DAG files that failed to import",
                                   registry=registry)
        self._counts_read = float("-inf")

    def refresh_database_counts(self) -> None:
        if time.monotonic() - self._counts_read < DB_COUNTS_CACHE_SECONDS:
            return
        from sqlalchemy import func, select
        from sqlalchemy.exc import SQLAlchemyError

        from .store.tables import import_error, task_instance

        try:
            with self.engine.connect() as conn:
                counts = dict(conn.execute(select(task_instance.c.state, func.count())
                                           .group_by(task_instance.c.state)).all())
                errors = conn.execute(select(func.count()).select_from(import_error)).scalar()
        except SQLAlchemyError:
            return  # the database is away: health says so; the last counts stay
        self.ti_states.clear()
        for state, n in counts.items():
            self.ti_states.labels(state=state or "none").set(n)
        self.import_errors.set(errors or 0)
        self._counts_read = time.monotonic()


def enable(engine) -> None:
    global _metrics
    with _lock:
        if _metrics is None:
            _metrics = _Collectors(engine)


def enabled() -> bool:
    return _metrics is not None


def scheduler_pass(seconds: float, *, leader: bool) -> None:
    if _metrics is not None:
        _metrics.scheduler_loop.observe(seconds)
        _metrics.scheduler_leader.set(1 if leader else 0)


def executor_slots(executor: str, open_slots: int, running: int) -> None:
    if _metrics is not None:
        _metrics.executor_open.labels(executor=executor).set(open_slots)
        _metrics.executor_running.labels(executor=executor).set(running)


def try_started(queued_at, started_at) -> None:
    if _metrics is not None and queued_at is not None and started_at is not None:
        _metrics.queue_delay.observe(max((started_at - queued_at).total_seconds(), 0.0))


def try_finished(state: str, started_at, ended_at) -> None:
    if _metrics is not None:
        _metrics.tasks_finished.labels(state=state).inc()
        if started_at is not None and ended_at is not None:
            _metrics.task_duration.labels(state=state).observe(max((ended_at - started_at).total_seconds(), 0.0))


def dag_file_parsed(seconds: float) -> None:
    if _metrics is not None:
        _metrics.dag_processing.observe(seconds)


def http_request(route: str, method: str, status: int, seconds: float) -> None:
    if _metrics is not None:
        _metrics.http_requests.labels(route=route, method=method, status=str(status)).inc()
        _metrics.http_duration.labels(route=route).observe(seconds)


def exposition() -> tuple[bytes, str]:
    """The text the scraper reads, and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    _metrics.refresh_database_counts()
    return generate_latest(_metrics.registry), CONTENT_TYPE_LATEST


class HttpMetrics:
    """ASGI middleware counting requests by route template (never the raw path: ids would explode it)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or _metrics is None:
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = [500]

        async def send_status(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")
            template = (scope.get("root_path", "") + route.path) if route is not None and hasattr(route, "path") \
                else "(unmatched)"
            http_request(template, scope["method"], status[0], time.perf_counter() - started)
