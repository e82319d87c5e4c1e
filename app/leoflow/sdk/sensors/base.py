"""BaseSensorOperator: call `poke()` until it says done, a timeout, or a reschedule.

In `poke` mode the task sleeps between pokes and holds its worker slot; in
`reschedule` mode it raises `AirflowRescheduleException` and the scheduler
runs it again later (state `up_for_reschedule`). A timeout raises
`AirflowSensorTimeout`, or `AirflowSkipException` with `soft_fail=True`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from typing import Any

from leoflow.sdk import timezone
from leoflow.sdk.baseoperator import BaseOperator
from leoflow.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowRescheduleException,
    AirflowSensorTimeout,
    AirflowSkipException,
    AirflowTaskTimeout,
)

VALID_MODES = ("poke", "reschedule")


class PokeReturnValue:
    """What `poke()` may return: done or not, plus an XCom value for when it is."""

    def __init__(self, is_done: bool, xcom_value: Any = None) -> None:
        self.is_done = is_done
        self.xcom_value = xcom_value

    def __bool__(self) -> bool:
        return bool(self.is_done)

    def __repr__(self) -> str:
        return f"PokeReturnValue(is_done={self.is_done}, xcom_value={self.xcom_value!r})"


def _seconds(value, name: str) -> float:
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise AirflowException(f"Operator arg `{name}` must be timedelta object or a non-negative number") from None
    if seconds < 0:
        raise AirflowException(f"Operator arg `{name}` must be timedelta object or a non-negative number")
    return seconds


class BaseSensorOperator(BaseOperator):
    ui_color = "#e6f1f2"
    valid_modes = VALID_MODES

    def __init__(self, *, poke_interval: dt.timedelta | float = 60, timeout: dt.timedelta | float = 60 * 60 * 24 * 7,
                 soft_fail: bool = False, mode: str = "poke", exponential_backoff: bool = False,
                 max_wait: dt.timedelta | float | None = None, silent_fail: bool = False, never_fail: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.poke_interval = _seconds(poke_interval, "poke_interval")
        self.timeout = _seconds(timeout, "timeout")
        self.soft_fail = soft_fail
        self.mode = mode
        self.exponential_backoff = exponential_backoff
        self.max_wait = _seconds(max_wait, "max_wait") if max_wait is not None else None
        self.silent_fail = silent_fail
        self.never_fail = never_fail
        if soft_fail and never_fail:
            raise ValueError("soft_fail and never_fail are mutually exclusive, you can not provide both.")
        if self.mode not in self.valid_modes:
            raise AirflowException(
                f"The mode must be one of {self.valid_modes},'{self.dag.dag_id if self.has_dag() else ''} "
                f".{self.task_id}'; received '{self.mode}'."
            )

    @property
    def reschedule(self) -> bool:
        return self.mode == "reschedule"

    def poke(self, context) -> bool | PokeReturnValue:
        raise AirflowException("Override me.")

    def _started_at(self, context) -> tuple[dt.datetime, int]:
        """When the first try of this sensor started, and how many pokes ran before (reschedule mode)."""
        ti = context.get("ti")
        if self.reschedule and ti is not None:
            first = getattr(ti, "get_first_reschedule_date", None)
            start = first(context) if callable(first) else None
            if start is not None:
                count = getattr(ti, "reschedule_count", None)
                return start, (count or 0) + 1
        return timezone.utcnow(), 1

    def execute(self, context) -> Any:
        started_at, poke_count = self._started_at(context)
        started_mono = time.monotonic()
        already = max(0.0, (timezone.utcnow() - started_at).total_seconds())

        def run_duration() -> float:
            return already + (time.monotonic() - started_mono)

        xcom_value = None
        while True:
            try:
                result = self.poke(context)
            except (AirflowSensorTimeout, AirflowTaskTimeout, AirflowFailException) as exc:
                if self.soft_fail:
                    raise AirflowSkipException("Skipping due to soft_fail is set to True.") from exc
                if self.never_fail:
                    raise AirflowSkipException("Skipping due to never_fail is set to True.") from exc
                raise
            except AirflowSkipException:
                raise
            except Exception as exc:
                if self.silent_fail:
                    self.log.error("Sensor poke failed: %s; silent_fail is set, poking again.", exc)
                    result = False
                elif self.never_fail:
                    raise AirflowSkipException("Skipping due to never_fail is set to True.") from exc
                else:
                    raise
            if result:
                if isinstance(result, PokeReturnValue):
                    xcom_value = result.xcom_value
                break
            if run_duration() > self.timeout:
                message = (f"Sensor has timed out; run duration of {run_duration()} seconds exceeds the "
                           f"specified timeout of {self.timeout}.")
                if self.soft_fail:
                    raise AirflowSkipException(message)
                raise AirflowSensorTimeout(message)
            interval = self._get_next_poke_interval(started_at, run_duration, poke_count)
            if self.reschedule:
                raise AirflowRescheduleException(timezone.utcnow() + dt.timedelta(seconds=interval))
            self.log.info("Sleeping for %s seconds", interval)
            time.sleep(interval)
            poke_count += 1
        self.log.info("Success criteria met. Exiting.")
        return xcom_value

    def _get_next_poke_interval(self, started_at, run_duration, poke_count: int) -> float:
        if not self.exponential_backoff:
            return self.poke_interval
        # Doubling waits, with a stable per-try jitter so parallel sensors spread out.
        min_backoff = max(int(self.poke_interval * (2 ** (poke_count - 2))), 1)
        digest = hashlib.sha1(f"{self.dag_id}#{self.task_id}#{started_at}#{poke_count}".encode()).hexdigest()
        delay = min(min_backoff + int(digest, 16) % min_backoff, dt.timedelta.max.total_seconds() - 1)
        interval = min(self.timeout - int(run_duration()), delay)
        if self.max_wait is not None:
            interval = min(self.max_wait, interval)
        return max(interval, 0)

    def resume_execution(self, next_method: str, next_kwargs, context):
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except Exception as exc:
            if self.soft_fail and not isinstance(exc, AirflowSkipException):
                raise AirflowSkipException(str(exc)) from exc
            raise


def poke_mode_only(cls):
    """Class decorator: the sensor may only run in poke mode."""
    original = cls.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self.mode != "poke":
            raise ValueError(f"Cannot set mode to '{self.mode}'. Only 'poke' is acceptable")

    cls.__init__ = __init__
    return cls
