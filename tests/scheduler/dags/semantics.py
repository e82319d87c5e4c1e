"""DAGs that exercise the run-time semantics Leoflow shares with Airflow 3.2 (used by test_semantics_runs.py)."""

import datetime as dt
import os
import time
from pathlib import Path

import pendulum

from airflow.exceptions import AirflowFailException, AirflowSkipException
from airflow.sdk import DAG, Param, task, task_group, teardown
from airflow.providers.standard.operators.empty import EmptyOperator

START = pendulum.datetime(2026, 1, 1, tz="UTC")
MARKS = Path(os.environ.get("LEOFLOW_TEST_MARKS", "/tmp"))


def mark(context, what):
    ti = context["ti"]
    (MARKS / f"{ti.task_id}.{ti.map_index}.{what}").write_text(str(ti.try_number))


with DAG("sem_failures", schedule=None, start_date=START):

    @task(retries=2, retry_delay=dt.timedelta(seconds=0),
          on_retry_callback=lambda c: mark(c, "retry"), on_success_callback=lambda c: mark(c, "success"))
    def flaky(ti=None):
        if ti.try_number < 3:
            raise ValueError("not yet")
        return "ok"

    @task(retries=3, on_failure_callback=lambda c: mark(c, "failure"))
    def no_retry():
        raise AirflowFailException("stop now")

    @task(on_skipped_callback=lambda c: mark(c, "skipped"))
    def skipper():
        raise AirflowSkipException("nothing to do")

    @task(execution_timeout=dt.timedelta(seconds=1))
    def too_slow():
        time.sleep(30)

    @task(trigger_rule="one_failed")
    def alarm():
        return "raised"

    @task(trigger_rule="all_skipped")
    def only_if_all_skipped():
        return "yes"

    f, n, s, t = flaky(), no_retry(), skipper(), too_slow()
    [f, n] >> alarm()
    s >> only_if_all_skipped()


with DAG("sem_mapping", schedule=None, start_date=START):

    @task
    def numbers():
        return [1, 2, 3]

    @task(map_index_template="{{ task.op_kwargs['x'] }}")
    def double(x, expanded_ti_count=None):
        assert expanded_ti_count in (1, 2, 3), expanded_ti_count
        return x * 2

    @task
    def total(values, ti=None):
        assert list(values) == [2, 4, 6], values
        assert ti.xcom_pull(task_ids="double", map_indexes=1) == 4
        assert ti.xcom_pull(task_ids="double") == [2, 4, 6]
        return sum(values)

    @task
    def nothing():
        return []

    @task
    def never(x):
        raise AssertionError("mapped over an empty list: must not run")

    @task
    def pairs():
        return [{"a": 1, "b": 2}, {"a": 3, "b": 4}]

    @task
    def add(a, b):
        return a + b

    total(double.expand(x=numbers()))

    @task
    def one_value(values):
        assert list(values) == [14], values  # a mapped task's results are a list, even of one
        return values

    one_value(double.override(task_id="single").expand(x=[7]))
    never.expand(x=nothing())
    add.expand_kwargs(pairs())
    @task
    def letters():
        return ["a", "b"]

    double.override(task_id="zipped").expand(x=numbers().zip(letters()))

    @task
    def plus_one(x):
        return x + 1

    @task
    def check(y, x):
        assert y == x + 1, (y, x)
        return y

    @task_group
    def grp(x):
        return check(plus_one(x), x)

    grp.expand(x=[10, 20])


with DAG("sem_params", schedule=None, start_date=START,
         params={"n": Param(1, type="integer", minimum=0), "name": Param("leo", type="string")}):

    @task
    def show(params=None, dag_run=None):
        assert params["n"] == dag_run.conf.get("n", 1)
        return params["n"]

    show()


with DAG("sem_branching", schedule=None, start_date=START):

    @task.branch
    def pick():
        return "left"

    left, right = EmptyOperator(task_id="left"), EmptyOperator(task_id="right")
    join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
    after_right = EmptyOperator(task_id="after_right")

    @task.short_circuit(ignore_downstream_trigger_rules=False)
    def gate():
        return False

    gated = EmptyOperator(task_id="gated")
    gated_always = EmptyOperator(task_id="gated_always", trigger_rule="all_done")
    @task
    def mapped_right(x):
        raise AssertionError("a branch not taken must not run, map indexes included")

    pick() >> [left, right, mapped_right.expand(x=[1, 2])]
    right >> after_right
    [left, after_right] >> join
    gate() >> gated >> gated_always


with DAG("sem_fail_fast", schedule=None, start_date=START, fail_fast=True):

    @task
    def breaks():
        raise ValueError("boom")

    @task
    def slow():
        time.sleep(60)

    @task
    def later():
        return 1

    @teardown
    def cleanup():
        return "cleaned"

    b = breaks()
    b >> later()
    [b, slow()] >> cleanup()


with DAG("sem_xcom_types", schedule=None, start_date=START):

    @task
    def make():
        return {"when": dt.datetime(2026, 1, 5, 3, tzinfo=dt.timezone.utc), "pair": (1, 2),
                "wait": dt.timedelta(hours=1), "day": dt.date(2026, 1, 5)}

    @task
    def use(v):
        assert v["when"].hour == 3 and v["pair"] == (1, 2) and v["wait"].total_seconds() == 3600, v
        assert v["day"].isoformat() == "2026-01-05", v

    @task
    def unserializable():
        return object()

    use(make())
    unserializable()


with DAG("sem_labels", schedule=None, start_date=START):

    @task(map_index_template="{{ task.op_kwargs['x'] }}")
    def from_template(x):
        return x

    @task
    def set_while_running(x):
        from airflow.sdk import get_current_context

        get_current_context()["map_index_template"] = f"item {x}"

    @task(map_index_template="{{ not_in_the_context }}")
    def bad_label(x):
        return x

    from_template.expand(x=["a", "b"])
    set_while_running.expand(x=[1])
    bad_label.expand(x=[1])
