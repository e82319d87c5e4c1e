"""Sensors (poke/reschedule, timeout, soft_fail, backoff) and the triggers deferrable ones hand over."""

import asyncio
import datetime as dt

import pytest

from airflow.providers.standard.sensors.bash import BashSensor
from airflow.providers.standard.sensors.filesystem import FileSensor
from airflow.providers.standard.sensors.python import PythonSensor
from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor
from airflow.providers.standard.triggers.file import FileTrigger
from airflow.providers.standard.triggers.temporal import DateTimeTrigger, TimeDeltaTrigger
from airflow.sdk import DAG, BaseSensorOperator, PokeReturnValue, task
from leoflow.sdk.exceptions import (
    AirflowException, AirflowRescheduleException, AirflowSensorTimeout, AirflowSkipException, TaskDeferred,
)
from leoflow.sdk.serialize import serialize_dag


class Countdown(BaseSensorOperator):
    def __init__(self, *, ready_after: int, **kwargs):
        super().__init__(**kwargs)
        self.ready_after = ready_after
        self.pokes = 0

    def poke(self, context):
        self.pokes += 1
        return PokeReturnValue(self.pokes >= self.ready_after, xcom_value=self.pokes)


def test_poke_mode_repeats_until_done_and_returns_the_xcom():
    with DAG("s"):
        s = Countdown(task_id="s", ready_after=3, poke_interval=0)
    assert s.execute({}) == 3


def test_timeout_fails_or_skips_with_soft_fail():
    with DAG("s"):
        hard = Countdown(task_id="hard", ready_after=10**9, poke_interval=0, timeout=0.05)
        soft = Countdown(task_id="soft", ready_after=10**9, poke_interval=0, timeout=0.05, soft_fail=True)
    with pytest.raises(AirflowSensorTimeout, match="timed out"):
        hard.execute({})
    with pytest.raises(AirflowSkipException):
        soft.execute({})


def test_reschedule_mode_raises_with_the_next_poke_time():
    with DAG("s") as d:
        s = Countdown(task_id="s", ready_after=5, mode="reschedule", poke_interval=30)
    before = dt.datetime.now(dt.timezone.utc)
    with pytest.raises(AirflowRescheduleException) as info:
        s.execute({})
    assert dt.timedelta(seconds=29) < info.value.reschedule_date - before < dt.timedelta(seconds=32)
    assert serialize_dag(d)["tasks"][0]["sensor"] == {
        "mode": "reschedule", "poke_interval": 30.0, "timeout": 604800.0, "soft_fail": False,
        "exponential_backoff": False, "max_wait": None, "deferrable": False}


def test_reschedule_timeout_counts_from_the_first_try():
    class TI:
        def get_first_reschedule_date(self, context):
            return dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)

    with DAG("s"):
        s = Countdown(task_id="s", ready_after=5, mode="reschedule", timeout=3600)
    with pytest.raises(AirflowSensorTimeout):
        s.execute({"ti": TI()})


def test_exponential_backoff_grows_and_respects_max_wait():
    with DAG("s"):
        s = Countdown(task_id="s", ready_after=1, poke_interval=10, exponential_backoff=True, max_wait=100)
    waits = [s._get_next_poke_interval("start", lambda: 0, n) for n in range(1, 8)]
    assert waits[0] <= waits[3] <= waits[5] and max(waits) == 100


def test_invalid_mode_is_a_parse_error():
    with DAG("s"):
        with pytest.raises(AirflowException, match="The mode must be one of"):
            Countdown(task_id="bad", ready_after=1, mode="sometimes")


def test_bash_python_and_file_sensors_poke(tmp_path, comms):
    with DAG("s"):
        yes = BashSensor(task_id="yes", bash_command="exit 0")
        no = BashSensor(task_id="no", bash_command="exit 1")
        py = PythonSensor(task_id="py", python_callable=lambda flag: flag, op_kwargs={"flag": True})
        missing = FileSensor(task_id="file", filepath=str(tmp_path / "*.csv"))
    assert yes.poke({}) is True and no.poke({}) is False
    assert bool(py.poke({})) is True
    assert missing.poke({}) is False
    (tmp_path / "a.csv").write_text("x")
    assert missing.poke({}) is True


def test_decorated_sensor():
    with DAG("s") as d:
        @task.sensor(poke_interval=0, timeout=5)
        def ready():
            return PokeReturnValue(is_done=True, xcom_value="done")

        ready()
    op = d.get_task("ready")
    assert op.operator_name == "@task.sensor"
    assert op.execute({}) == "done"


def test_deferrable_time_delta_sensor_defers_to_a_datetime_trigger():
    with DAG("s"):
        s = TimeDeltaSensor(task_id="wait", delta=dt.timedelta(hours=1), deferrable=True)
    end = dt.datetime.now(dt.timezone.utc)
    with pytest.raises(TaskDeferred) as info:
        s.execute({"data_interval_end": end})
    trigger = info.value.trigger
    assert info.value.method_name == "execute_complete"
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow.providers.standard.triggers.temporal.DateTimeTrigger"
    assert kwargs["moment"] == end + dt.timedelta(hours=1)


def test_triggers_fire():
    async def first(trigger):
        async for event in trigger.run():
            return event

    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    assert asyncio.run(first(DateTimeTrigger(past))).payload == DateTimeTrigger(past).moment
    assert TimeDeltaTrigger(dt.timedelta(0)).serialize()[0].endswith("temporal.DateTimeTrigger")
    with pytest.raises(ValueError, match="naive"):
        DateTimeTrigger(dt.datetime(2026, 1, 1))


def test_file_trigger_fires_when_the_file_appears(tmp_path):
    path = tmp_path / "data.txt"

    async def scenario():
        trigger = FileTrigger(str(path), poke_interval=0.01)
        gen = trigger.run()
        pending = asyncio.ensure_future(gen.__anext__())
        await asyncio.sleep(0.05)
        assert not pending.done()
        path.write_text("x")
        return await asyncio.wait_for(pending, 2)

    assert asyncio.run(scenario()).payload is True


def test_time_sensor_targets_today_in_the_dags_timezone():
    import pendulum

    from airflow.providers.standard.sensors.time import TimeSensor

    with DAG("t", start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Tokyo")):
        past = TimeSensor(task_id="past", target_time=dt.time(0, 0))
        soon = TimeSensor(task_id="soon", target_time=dt.time(23, 59, 59), deferrable=True)
    assert past.target_datetime.tzinfo is not None and past.target_datetime.utcoffset() == dt.timedelta(0)
    local_midnight = pendulum.now("Asia/Tokyo").start_of("day")
    assert past.target_datetime == local_midnight
    with pytest.raises(TaskDeferred) as info:
        soon.execute({})
    assert info.value.trigger.moment == soon.target_datetime
