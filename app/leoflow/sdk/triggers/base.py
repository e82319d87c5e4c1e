"""BaseTrigger / TriggerEvent: Airflow's contract for work the triggerer awaits.

`serialize()` returns `(classpath, kwargs)`; the triggerer rebuilds the trigger
by importing `classpath` (an `airflow.*` path works through the import hook)
and calling it with `kwargs`, then iterates `async run()` until it yields a
`TriggerEvent`.
"""

from __future__ import annotations

import abc
import logging
from typing import Any, AsyncIterator


class TriggerEvent:
    """Something a trigger yields; `payload` goes to the task's `method_name` as `event`."""

    def __init__(self, payload: Any) -> None:
        self.payload = payload

    def __repr__(self) -> str:
        return f"TriggerEvent<{self.payload!r}>"

    def __eq__(self, other) -> bool:
        return isinstance(other, TriggerEvent) and other.payload == self.payload


class BaseTaskEndEvent(TriggerEvent):
    """Ends the task from the trigger itself, without resuming it on a worker."""

    task_instance_state = "success"

    def __init__(self, *, xcoms: dict[str, Any] | None = None) -> None:
        super().__init__(self.task_instance_state)
        self.xcoms = xcoms


class TaskSuccessEvent(BaseTaskEndEvent):
    task_instance_state = "success"


class TaskFailedEvent(BaseTaskEndEvent):
    task_instance_state = "failed"


class TaskSkippedEvent(BaseTaskEndEvent):
    task_instance_state = "skipped"


class BaseTrigger(abc.ABC):
    supports_triggerer_queue = True

    def __init__(self, **kwargs: Any) -> None:
        self.trigger_id: int | None = None
        self.task_instance = None

    def _set_context(self, context) -> None:
        pass

    @property
    def log(self) -> logging.Logger:
        return logging.getLogger(f"airflow.triggers.{type(self).__name__}")

    @abc.abstractmethod
    def serialize(self) -> tuple[str, dict[str, Any]]:
        """(classpath, kwargs) to rebuild this trigger."""

    @abc.abstractmethod
    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Yield TriggerEvents; the first one ends the wait."""
        if False:  # pragma: no cover - makes this an async generator
            yield

    async def cleanup(self) -> None:
        """Called when the trigger is removed (the task was cleared or finished)."""

    def __repr__(self) -> str:
        classpath, kwargs = self.serialize()
        args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
        return f"<{classpath} {args}>"


class StartTriggerArgs:
    """Operator-level `start_trigger_args`: defer before running on a worker."""

    def __init__(self, trigger_cls: str, next_method: str, trigger_kwargs: dict | None = None,
                 next_kwargs: dict | None = None, timeout=None) -> None:
        self.trigger_cls = trigger_cls
        self.next_method = next_method
        self.trigger_kwargs = trigger_kwargs
        self.next_kwargs = next_kwargs
        self.timeout = timeout


class BaseEventTrigger(BaseTrigger):
    """A trigger an AssetWatcher may use: its events stand for changes outside Airflow."""

    @staticmethod
    def hash(classpath: str, kwargs: dict[str, Any]) -> int:
        """One number per (classpath, kwargs): the same watcher on two DAGs is one trigger."""
        import json

        return hash((classpath, json.dumps(kwargs, sort_keys=True, default=str)))
