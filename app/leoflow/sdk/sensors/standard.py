"""The standard provider's simple sensors: bash, python, time, time delta, date time, file, weekday."""

from __future__ import annotations

import datetime as dt
import glob
import os
from typing import Any, Callable

from leoflow.sdk import timezone
from leoflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowSkipException
from leoflow.sdk.sensors.base import BaseSensorOperator, PokeReturnValue
from leoflow.sdk.weekday import WeekDay


class BashSensor(BaseSensorOperator):
    """Done when the command exits 0 (`retry_exit_code` means try again, any other code fails)."""

    template_fields = ("bash_command", "env")

    def __init__(self, *, bash_command: str, env: dict | None = None, output_encoding: str = "utf-8",
                 retry_exit_code: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bash_command = bash_command
        self.env = env
        self.output_encoding = output_encoding
        self.retry_exit_code = retry_exit_code

    def poke(self, context) -> bool:
        from leoflow.sdk.operators.bash import run_command

        env = self.env if self.env is not None else dict(os.environ)
        self.log.info("Tmp dir root location: %s", "/tmp")
        code, _ = run_command(["/bin/bash", "-c", self.bash_command], env, None, log=self.log)
        if self.retry_exit_code is not None:
            if code == self.retry_exit_code:
                self.log.info("Return code matches retry code, will retry later")
                return False
            if code != 0:
                raise AirflowFailException(f"Command exited with return code {code}")
        return not code


class PythonSensor(BaseSensorOperator):
    """Done when the callable returns something truthy (or a done PokeReturnValue)."""

    template_fields = ("templates_dict", "op_args", "op_kwargs")

    def __init__(self, *, python_callable: Callable, op_args: list | None = None, op_kwargs: dict | None = None,
                 templates_dict: dict | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.python_callable = python_callable
        self.op_args = list(op_args or [])
        self.op_kwargs = dict(op_kwargs or {})
        self.templates_dict = templates_dict

    def poke(self, context) -> PokeReturnValue | bool:
        from leoflow.sdk.operators.python import determine_kwargs

        merged = {**context, **self.op_kwargs, "templates_dict": self.templates_dict}
        self.log.info("Poking callable: %s", getattr(self.python_callable, "__name__", self.python_callable))
        result = self.python_callable(*self.op_args, **determine_kwargs(self.python_callable, self.op_args, merged))
        return result if isinstance(result, PokeReturnValue) else PokeReturnValue(bool(result))


class DecoratedSensorOperator(PythonSensor):
    """`@task.sensor`: the function is the poke."""

    custom_operator_name = "@task.sensor"
    template_fields = ("op_args", "op_kwargs")

    def __init__(self, *, python_callable: Callable, task_id: str, op_args=None, op_kwargs=None,
                 multiple_outputs: bool = False, **kwargs: Any) -> None:
        kwargs.pop("templates_dict", None)
        super().__init__(python_callable=python_callable, op_args=op_args, op_kwargs=op_kwargs, task_id=task_id,
                         multiple_outputs=multiple_outputs, **kwargs)


class TimeSensor(BaseSensorOperator):
    """Done once the wall clock passes `target_time` today (in the DAG's timezone)."""

    def __init__(self, *, target_time: dt.time, deferrable: bool = False, start_from_trigger: bool = False,
                 end_from_trigger: bool = False, trigger_kwargs: dict | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_time = target_time
        self.deferrable = deferrable
        self.end_from_trigger = end_from_trigger
        self.start_from_trigger = start_from_trigger
        # As in Airflow: today's date when the DAG file is parsed (the task process parses it again).
        self.target_datetime = self._target()

    def _target(self) -> dt.datetime:
        tz = self.dag.timezone if self.dag is not None else dt.timezone.utc
        today = timezone.utcnow().astimezone(tz).date()
        aware = dt.datetime.combine(today, self.target_time).replace(tzinfo=tz)
        return timezone.convert_to_utc(aware)

    def execute(self, context) -> Any:
        if self.deferrable:
            from leoflow.sdk.triggers.temporal import DateTimeTrigger

            self.defer(trigger=DateTimeTrigger(moment=self.target_datetime, end_from_trigger=self.end_from_trigger),
                       method_name="execute_complete")
        super().execute(context)

    def execute_complete(self, context, event=None) -> None:
        return None

    def poke(self, context) -> bool:
        self.log.info("Checking if the time (%s) has come", self.target_datetime)
        return timezone.utcnow() > self.target_datetime


class TimeSensorAsync(TimeSensor):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("deferrable", True)
        super().__init__(**kwargs)


class TimeDeltaSensor(BaseSensorOperator):
    """Done `delta` after the run's data interval end (or run_after for runs without one)."""

    def __init__(self, *, delta: dt.timedelta, deferrable: bool = False, end_from_trigger: bool = False,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.delta = delta
        self.deferrable = deferrable
        self.end_from_trigger = end_from_trigger

    def _target(self, context) -> dt.datetime:
        base = context.get("data_interval_end")
        if base is None:
            dag_run = context.get("dag_run")
            base = getattr(dag_run, "run_after", None) or context.get("logical_date") or timezone.utcnow()
        return timezone.coerce_datetime(base + self.delta)

    def poke(self, context) -> bool:
        target = self._target(context)
        self.log.info("Checking if the delta has elapsed; target_dttm=%s", target)
        return timezone.utcnow() > target

    def execute(self, context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        from leoflow.sdk.triggers.temporal import DateTimeTrigger

        target = self._target(context)
        if timezone.utcnow() > target:
            return True  # Airflow returns (and pushes) True when the moment has passed already
        try:
            trigger = DateTimeTrigger(moment=target, end_from_trigger=self.end_from_trigger)
        except (TypeError, ValueError) as exc:
            if self.soft_fail:
                raise AirflowSkipException("Skipping due to soft_fail is set to True.") from exc
            raise
        self.defer(trigger=trigger, method_name="execute_complete")

    def execute_complete(self, context, event=None) -> None:
        return None


class TimeDeltaSensorAsync(TimeDeltaSensor):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("deferrable", True)
        super().__init__(**kwargs)


class WaitSensor(BaseSensorOperator):
    """Waits a fixed time from when it starts."""

    def __init__(self, *, time_to_wait: dt.timedelta | int, deferrable: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.time_to_wait = time_to_wait if isinstance(time_to_wait, dt.timedelta) else dt.timedelta(minutes=time_to_wait)
        self.deferrable = deferrable

    def execute(self, context) -> None:
        if self.deferrable:
            from leoflow.sdk.triggers.temporal import TimeDeltaTrigger

            self.defer(trigger=TimeDeltaTrigger(self.time_to_wait, end_from_trigger=True),
                       method_name="execute_complete")
        import time

        time.sleep(self.time_to_wait.total_seconds())

    def execute_complete(self, context, event=None) -> None:
        return None


class DateTimeSensor(BaseSensorOperator):
    """Done once the wall clock passes `target_time` (templated: a string or a datetime)."""

    template_fields = ("target_time",)

    def __init__(self, *, target_time: str | dt.datetime, deferrable: bool = False,
                 end_from_trigger: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(target_time, dt.datetime):
            self.target_time = target_time.isoformat()
        elif isinstance(target_time, str):
            self.target_time = target_time
        else:
            raise TypeError(f"Expected str or datetime.datetime type for target_time. Got {type(target_time)}")
        self.deferrable = deferrable
        self.end_from_trigger = end_from_trigger

    def _moment(self) -> dt.datetime:
        return timezone.parse(self.target_time) if isinstance(self.target_time, str) else self.target_time

    def poke(self, context) -> bool:
        self.log.info("Checking if the time (%s) has come", self.target_time)
        return timezone.utcnow() > self._moment()

    def execute(self, context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        from leoflow.sdk.triggers.temporal import DateTimeTrigger

        self.defer(trigger=DateTimeTrigger(moment=self._moment(), end_from_trigger=self.end_from_trigger),
                   method_name="execute_complete")

    def execute_complete(self, context, event=None) -> None:
        return None


class DateTimeSensorAsync(DateTimeSensor):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("deferrable", True)
        super().__init__(**kwargs)


class FileSensor(BaseSensorOperator):
    """Done once a file (or a non-empty folder) matches `filepath` under the connection's base path."""

    template_fields = ("filepath",)
    ui_color = "#91818a"

    def __init__(self, *, filepath: str = "", fs_conn_id: str = "fs_default", recursive: bool = False,
                 deferrable: bool = False, start_from_trigger: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filepath = filepath
        self.fs_conn_id = fs_conn_id
        self.recursive = recursive
        self.deferrable = deferrable
        self.start_from_trigger = start_from_trigger

    @property
    def path(self) -> str:
        from leoflow.sdk.hooks.filesystem import FSHook

        return os.path.join(FSHook(self.fs_conn_id).get_path(), self.filepath)

    def poke(self, context) -> bool:
        self.log.info("Poking for file %s", self.path)
        for path in glob.glob(self.path, recursive=self.recursive):
            if os.path.isfile(path):
                self.log.info("Found File %s", path)
                return True
            for _, _, files in os.walk(path):
                if files:
                    return True
        return False

    def execute(self, context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        if not self.poke(context):
            from leoflow.sdk.triggers.file import FileTrigger

            self.defer(trigger=FileTrigger(filepath=self.path, recursive=self.recursive,
                                           poke_interval=self.poke_interval),
                       method_name="execute_complete", timeout=dt.timedelta(seconds=self.timeout))
        return None

    def execute_complete(self, context, event: bool | None = None) -> None:
        if not event:
            raise AirflowException("Stop waiting for file: the trigger reported no file")
        self.log.info("%s completed successfully.", self.task_id)


class DayOfWeekSensor(BaseSensorOperator):
    """Done on the given week day(s): today by the wall clock, or the logical date's."""

    def __init__(self, *, week_day, use_task_logical_date: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.week_day = week_day
        self.use_task_logical_date = use_task_logical_date
        self._week_day_num = WeekDay.validate_week_day(week_day)

    def poke(self, context) -> bool:
        self.log.info("Poking until weekday is in %s, Today is %s", self.week_day,
                      WeekDay(timezone.utcnow().isoweekday()).name)
        if self.use_task_logical_date:
            when = context.get("logical_date") or context["dag_run"].run_after
            return when.isoweekday() in self._week_day_num
        return timezone.utcnow().isoweekday() in self._week_day_num
