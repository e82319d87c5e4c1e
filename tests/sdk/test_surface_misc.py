"""Labels, literal, chain helpers with groups, run_if/skip_if, Airflow 2 paths and the operator class path."""

import pytest

from airflow.sdk import DAG, Label, TaskGroup, chain, chain_linear, literal, task
from leoflow.sdk.exceptions import AirflowSkipException
from leoflow.sdk.serialize import serialize_dag
from leoflow.sdk.templating import render_value, template_env


def ups(d):
    return {t.task_id: sorted(t.upstream_task_ids) for t in d.tasks}


def test_labels_between_lists_and_with_set_downstream():
    from airflow.operators.empty import EmptyOperator

    with DAG("l") as d:
        a, b, c, e = (EmptyOperator(task_id=x) for x in "abce")
        a >> Label("to both") >> [b, c]
        c.set_downstream(e, edge_modifier=Label("last"))
    assert ups(d) == {"a": [], "b": ["a"], "c": ["a"], "e": ["c"]}
    assert serialize_dag(d)["edge_labels"] == {"a": {"b": "to both", "c": "to both"}, "c": {"e": "last"}}


def test_chain_and_chain_linear_with_groups():
    from airflow.operators.empty import EmptyOperator

    with DAG("c") as d:
        start = EmptyOperator(task_id="start")
        with TaskGroup("g") as g:
            EmptyOperator(task_id="x")
        x1, x2, y1, y2 = (EmptyOperator(task_id=t) for t in ("x1", "x2", "y1", "y2"))
        chain(start, g, [x1, x2], [y1, y2])
        z = EmptyOperator(task_id="z")
        chain_linear([x1, x2], z)
    assert ups(d)["g.x"] == ["start"]
    assert ups(d)["x1"] == ["g.x"] and ups(d)["y2"] == ["x2"] and ups(d)["z"] == ["x1", "x2"]


def test_literal_is_not_rendered():
    env = template_env(None)
    assert render_value(literal("{{ ds }}"), {"ds": "2026-01-05"}, env) == "{{ ds }}"
    assert render_value(["{{ ds }}", literal("{{ x }}")], {"ds": "d"}, env) == ["d", "{{ x }}"]


def test_run_if_and_skip_if():
    with DAG("r") as d:
        @task.run_if(lambda context: context.get("go"), skip_message="not today")
        @task
        def maybe():
            return 1

        @task.skip_if(lambda context: True)
        @task
        def never():
            return 2

        maybe()
        never()
    maybe_op, never_op = d.get_task("maybe"), d.get_task("never")
    maybe_op.pre_execute({"go": True})
    with pytest.raises(AirflowSkipException, match="not today"):
        maybe_op.pre_execute({"go": False})
    with pytest.raises(AirflowSkipException):
        never_op.pre_execute({})


def test_airflow2_paths_resolve_to_the_same_objects():
    from airflow.exceptions import AirflowSkipException as skip2
    from airflow.models.baseoperator import chain as chain2
    from airflow.operators.python import BranchPythonOperator, ShortCircuitOperator  # noqa: F401
    from airflow.sensors.time_delta import TimeDeltaSensorAsync  # noqa: F401
    from airflow.timetables.trigger import CronTriggerTimetable  # noqa: F401
    from airflow.utils.edgemodifier import Label as label2
    from airflow.utils.task_group import TaskGroup as group2
    from airflow.utils.trigger_rule import TriggerRule

    assert skip2 is AirflowSkipException and chain2 is chain and label2 is Label and group2 is TaskGroup
    assert TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS == "none_failed_min_one_success"


def test_unsupported_task_flavour_names_itself():
    with pytest.raises(AttributeError, match=r"Leoflow does not support @task.docker yet"):
        task.docker


def test_operator_class_and_name_in_the_document():
    from airflow.providers.standard.sensors.time_delta import TimeDeltaSensor

    import datetime as dt

    with DAG("o") as d:
        @task.short_circuit
        def check():
            return True

        check()
        TimeDeltaSensor(task_id="wait", delta=dt.timedelta(seconds=1))
    docs = {t["task_id"]: t for t in serialize_dag(d)["tasks"]}
    assert docs["check"]["operator_name"] == "@task.short_circuit"
    assert docs["wait"]["operator_class"] == "airflow.providers.standard.sensors.time_delta.TimeDeltaSensor"
    assert docs["wait"]["sensor"]["mode"] == "poke"


@pytest.mark.parametrize("name", ["deadline", "allowed_run_types"])
def test_dag_arguments_leoflow_cannot_honour_fail_at_parse_time(name):
    with pytest.raises(NotImplementedError, match=f"Leoflow does not support DAG\\({name}="):
        DAG("x", **{name: ["manual"]})


def test_run_as_user_fails_at_parse_time():
    from airflow.operators.empty import EmptyOperator

    with DAG("u"):
        with pytest.raises(NotImplementedError, match="Leoflow does not support run_as_user"):
            EmptyOperator(task_id="x", run_as_user="nobody")


def test_parsing_context_defaults_to_everything(monkeypatch):
    from airflow.sdk import get_parsing_context

    assert get_parsing_context() == (None, None)
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "only_me")
    assert get_parsing_context().dag_id == "only_me"


@pytest.mark.parametrize("name", ["DeadlineAlert", "BaseXCom", "BaseAsyncOperator"])
def test_unsupported_sdk_names_fail_naming_themselves(name):
    with pytest.raises(ImportError, match=f"Leoflow does not support `airflow.sdk.{name}` yet"):
        exec(f"from airflow.sdk import {name}", {})
