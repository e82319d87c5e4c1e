"""Branch, short-circuit and clock branches decide; DownstreamTasksSkipped carries the decision."""

import datetime as dt

import pytest

from airflow.providers.standard.operators.datetime import BranchDateTimeOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.latest_only import LatestOnlyOperator
from airflow.providers.standard.operators.python import BranchPythonOperator, ShortCircuitOperator
from airflow.providers.standard.operators.weekday import BranchDayOfWeekOperator
from airflow.sdk import DAG, TaskGroup, task
from leoflow.sdk.exceptions import AirflowException, DownstreamTasksSkipped


class FakeTI:
    def __init__(self, task, map_index=-1):
        self.task = task
        self.map_index = map_index
        self.pushed = {}

    def xcom_push(self, key, value):
        self.pushed[key] = value


class Run:
    run_type = "scheduled"
    data_interval_start = dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)
    data_interval_end = dt.datetime(2026, 1, 6, tzinfo=dt.timezone.utc)
    logical_date = data_interval_start
    run_after = data_interval_end


def ctx(op, **extra):
    return {"ti": FakeTI(op), "task": op, "dag_run": Run(), "logical_date": Run.logical_date, **extra}


def skipped(op, context):
    with pytest.raises(DownstreamTasksSkipped) as info:
        op.execute(context)
    return sorted(info.value.tasks)


def test_branch_python_skips_the_other_direct_downstreams_and_expands_groups():
    with DAG("b"):
        branch = BranchPythonOperator(task_id="branch", python_callable=lambda: "grp")
        with TaskGroup("grp") as grp:
            first = EmptyOperator(task_id="first")
            first >> EmptyOperator(task_id="second")
        other = EmptyOperator(task_id="other")
        branch >> [grp, other]
    context = ctx(branch)
    assert skipped(branch, context) == ["other"]
    assert context["ti"].pushed == {"skipmixin_key": {"followed": ["grp.first"]}}


def test_branch_to_unknown_task_is_an_error_and_mapped_ti_skips_by_index():
    with DAG("b"):
        bad = BranchPythonOperator(task_id="bad", python_callable=lambda: "nope")
        bad >> EmptyOperator(task_id="x")
        good = BranchPythonOperator(task_id="good", python_callable=lambda: [])
        good >> EmptyOperator(task_id="y")
    with pytest.raises(AirflowException, match="Invalid tasks found"):
        bad.execute(ctx(bad))
    context = ctx(good)
    context["ti"].map_index = 2
    with pytest.raises(DownstreamTasksSkipped) as info:
        good.execute(context)
    assert info.value.tasks == [("y", 2)]


def test_decorated_branch_returns_its_choice():
    with DAG("b") as d:
        @task.branch
        def pick():
            return "a"

        pick() >> [EmptyOperator(task_id="a"), EmptyOperator(task_id="b")]
    op = d.get_task("pick")
    assert op.operator_name == "@task.branch"
    with pytest.raises(DownstreamTasksSkipped) as info:
        op.execute(ctx(op))
    assert info.value.tasks == ["b"]


@pytest.mark.parametrize("ignore, expected", [(True, ["a", "b"]), (False, ["a"])])
def test_short_circuit_skips_direct_or_all_but_teardowns(ignore, expected):
    with DAG("b"):
        sc = ShortCircuitOperator(task_id="sc", python_callable=lambda: False,
                                  ignore_downstream_trigger_rules=ignore)
        a, b, td = EmptyOperator(task_id="a"), EmptyOperator(task_id="b"), EmptyOperator(task_id="td")
        sc >> a >> b >> td.as_teardown()
    assert skipped(sc, ctx(sc)) == expected
    with DAG("c"):
        ok = ShortCircuitOperator(task_id="ok", python_callable=lambda: "yes")
        ok >> EmptyOperator(task_id="z")
    assert ok.execute(ctx(ok)) == "yes"


def test_clock_branches_use_the_logical_date_when_asked():
    with DAG("b", start_date=dt.datetime(2026, 1, 1)):
        dow = BranchDayOfWeekOperator(task_id="dow", follow_task_ids_if_true="t", follow_task_ids_if_false="f",
                                      week_day={"Monday"}, use_task_logical_date=True)
        when = BranchDateTimeOperator(task_id="when", follow_task_ids_if_true="t", follow_task_ids_if_false="f",
                                      target_lower=dt.time(0, 0), target_upper=dt.time(1, 0),
                                      use_task_logical_date=True)
        t, f = EmptyOperator(task_id="t"), EmptyOperator(task_id="f")
        dow >> [t, f]
        when >> [t, f]
    assert skipped(dow, ctx(dow)) == ["f"]  # 2026-01-05 is a Monday
    assert skipped(when, ctx(when)) == ["f"]  # midnight is inside [00:00, 01:00]
    with pytest.raises(AirflowException, match="Both target_upper and target_lower are None"):
        BranchDateTimeOperator(task_id="x", follow_task_ids_if_true="t", follow_task_ids_if_false="f",
                               target_lower=None, target_upper=None)


def test_latest_only_proceeds_for_manual_runs_and_skips_old_scheduled_ones():
    with DAG("b", schedule="@daily", start_date=dt.datetime(2026, 1, 1)):
        latest = LatestOnlyOperator(task_id="latest")
        latest >> EmptyOperator(task_id="after")
    manual = Run()
    manual.run_type = "manual"
    assert latest.execute(ctx(latest, dag_run=manual)) == ["after"]
    assert skipped(latest, ctx(latest)) == ["after"]  # a 2026-01-05 interval is long past
