"""Task-instance and DAG-run states (`airflow.utils.state`)."""

from __future__ import annotations

from enum import Enum


class TaskInstanceState(str, Enum):
    REMOVED = "removed"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    RESTARTING = "restarting"
    FAILED = "failed"
    UP_FOR_RETRY = "up_for_retry"
    UP_FOR_RESCHEDULE = "up_for_reschedule"
    UPSTREAM_FAILED = "upstream_failed"
    SKIPPED = "skipped"
    DEFERRED = "deferred"

    def __str__(self) -> str:
        return self.value


class DagRunState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"

    def __str__(self) -> str:
        return self.value


class State:
    SUCCESS = TaskInstanceState.SUCCESS
    RUNNING = TaskInstanceState.RUNNING
    FAILED = TaskInstanceState.FAILED
    QUEUED = TaskInstanceState.QUEUED
    SCHEDULED = TaskInstanceState.SCHEDULED
    SKIPPED = TaskInstanceState.SKIPPED
    UPSTREAM_FAILED = TaskInstanceState.UPSTREAM_FAILED
    UP_FOR_RETRY = TaskInstanceState.UP_FOR_RETRY
    UP_FOR_RESCHEDULE = TaskInstanceState.UP_FOR_RESCHEDULE
    DEFERRED = TaskInstanceState.DEFERRED
    REMOVED = TaskInstanceState.REMOVED
    NONE = None
    finished = frozenset({TaskInstanceState.SUCCESS, TaskInstanceState.FAILED, TaskInstanceState.SKIPPED,
                          TaskInstanceState.UPSTREAM_FAILED, TaskInstanceState.REMOVED})
    unfinished = frozenset({None, TaskInstanceState.SCHEDULED, TaskInstanceState.QUEUED, TaskInstanceState.RUNNING,
                            TaskInstanceState.UP_FOR_RETRY, TaskInstanceState.UP_FOR_RESCHEDULE,
                            TaskInstanceState.DEFERRED, TaskInstanceState.RESTARTING})
    failed_states = frozenset({TaskInstanceState.FAILED, TaskInstanceState.UPSTREAM_FAILED})
    success_states = frozenset({TaskInstanceState.SUCCESS, TaskInstanceState.SKIPPED})


class WeightRule(str, Enum):
    DOWNSTREAM = "downstream"
    UPSTREAM = "upstream"
    ABSOLUTE = "absolute"

    def __str__(self) -> str:
        return self.value
