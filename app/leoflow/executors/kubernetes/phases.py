"""A pod's status as what it means for its try, as Airflow's Kubernetes executor reads it.

Succeeded: the try ended; the state it reported stands (none reported: it failed). Failed: the exit
code and reason of the task's container go to the try's log. Pending with a fatal waiting reason
(the image cannot be pulled, the container cannot be made) fails or retries the try at once; a pod
that stays Pending for another reason (unschedulable, say) does so past the pending timeout.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import names

# Airflow's default [kubernetes_executor] worker_pod_pending_fatal_container_state_reasons
FATAL_WAITING = frozenset({"CreateContainerConfigError", "ErrImagePull", "CreateContainerError",
                           "ImageInspectError", "InvalidImageName"})


@dataclass(frozen=True)
class Outcome:
    kind: str  # pending, fatal, running, succeeded, failed, unknown
    exit_code: int | None = None
    reason: str | None = None  # why, in words (for the try's log)
    waiting: str | None = None  # a pending pod's reason (Unschedulable, ContainerCreating...)


def _base_status(status: dict) -> dict:
    statuses = status.get("containerStatuses") or []
    return next((c for c in statuses if c.get("name") == names.CONTAINER), statuses[0] if statuses else {})


def read(pod: dict) -> Outcome:
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    state = _base_status(status).get("state") or {}
    if phase == "Succeeded":
        return Outcome("succeeded", 0)
    if phase == "Failed":
        term = state.get("terminated") or {}
        code = term.get("exitCode")
        why = term.get("reason") or status.get("reason") or "Error"
        message = term.get("message") or status.get("message")
        text = f"exit code {code} ({why})" if code is not None else why
        return Outcome("failed", code if code is not None else 1,
                       f"the pod failed: {text}" + (f": {message}" if message else ""))
    if phase == "Running":
        return Outcome("running")
    if phase == "Pending":
        waiting = state.get("waiting") or {}
        if waiting.get("reason") in FATAL_WAITING:
            message = waiting.get("message")
            return Outcome("fatal", reason=f"the pod cannot start: {waiting['reason']}"
                                           + (f": {message}" if message else ""), waiting=waiting["reason"])
        for condition in status.get("conditions") or []:
            if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
                message = condition.get("message")
                return Outcome("pending", waiting=condition.get("reason") or "Unschedulable",
                               reason=f"{condition.get('reason') or 'Unschedulable'}"
                                      + (f": {message}" if message else ""))
        return Outcome("pending", waiting=waiting.get("reason"), reason=waiting.get("reason"))
    return Outcome("unknown", reason=status.get("reason"))
