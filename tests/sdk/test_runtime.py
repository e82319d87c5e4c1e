"""Running tasks in-process: context, XComArgs, ti.xcom_*, variables, templates."""

import datetime as dt
import os

import pytest

from airflow.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Connection, Variable, get_current_context, task
from airflow.sdk.exceptions import AirflowRuntimeError, ErrorType
from leoflow.sdk import runtime
from leoflow.sdk.collect import dags_from_file
from leoflow.sdk.exceptions import AirflowTaskTimeout

from .conftest import BENCH_DAGS, EXAMPLE_DAGS, MemoryComms, make_run, make_ti, run_dag, run_task


def test_xcom3_in_process(comms):
    (dag,) = dags_from_file(os.path.join(BENCH_DAGS, "xcom3.py"))
    results = run_dag(dag, comms)
    assert results == {"extract": {"rows": 100}, "transform": {"rows": 200}, "load": 200}
    run_id = make_run(dag)["run_id"]
    assert comms.xcoms[("xcom3", run_id, "transform", "return_value", -1)] == {"rows": 200}
    # load received transform's value resolved from the XComArg
    assert runtime.rendered_fields(dag.get_task("load"))["op_args"] == [{"rows": 200}]


def test_tutorial_taskflow_multiple_outputs(comms):
    path = os.path.join(EXAMPLE_DAGS, "tutorial_taskflow_api.py")
    if not os.path.exists(path):
        pytest.skip("reference wheel not unpacked")
    (dag,) = dags_from_file(path)
    results = run_dag(dag, comms)
    assert round(results["transform"]["total_order_value"], 2) == 1236.7


def test_tutorial_dag_ti_xcom_push_pull(comms, capsys):
    path = os.path.join(EXAMPLE_DAGS, "tutorial_dag.py")
    if not os.path.exists(path):
        pytest.skip("reference wheel not unpacked")
    (dag,) = dags_from_file(path)
    run_dag(dag, comms)
    assert "1236.7" in capsys.readouterr().out


def test_context_keys(comms):
    seen = {}
    with DAG("ctx", params={"p": 1, "q": "x"}) as dag:
        def grab(ti, ds, ts, params, dag_run, logical_date, run_id, ds_nodash, ts_nodash, **context):
            seen.update(ti=ti, ds=ds, ts=ts, params=params, conf=dag_run.conf, logical_date=logical_date,
                        run_id=run_id, ds_nodash=ds_nodash, ts_nodash=ts_nodash, keys=set(context))
            assert get_current_context()["task"].task_id == "grab"

        t = PythonOperator(task_id="grab", python_callable=grab)
    run_task(dag, t, comms, conf={"q": "y"})
    assert seen["ds"] == "2026-01-05" and seen["ds_nodash"] == "20260105"
    assert seen["ts"] == "2026-01-05T00:00:00+00:00" and seen["ts_nodash"] == "20260105T000000"
    assert seen["params"] == {"p": 1, "q": "y"} and seen["conf"] == {"q": "y"}
    assert seen["ti"].try_number == 1 and seen["ti"].task_id == "grab"
    assert seen["run_id"].startswith("manual__")
    for key in ("dag", "task", "task_instance", "data_interval_start", "data_interval_end", "var", "conn",
                "macros", "inlets", "outlets", "test_mode", "ts_nodash_with_tz", "map_index_template"):
        assert key in seen["keys"]
    with pytest.raises(RuntimeError, match="no context was found"):
        get_current_context()


def test_a_run_without_a_logical_date_has_no_ds(comms):
    """As Airflow 3: ds, ts and the other keys that follow from a logical date are not in the context,
    so a template that uses one fails its task with "'ds' is undefined"."""
    import jinja2

    from airflow.providers.standard.operators.bash import BashOperator

    with DAG("nold") as dag:
        @task
        def show(ds=None, logical_date=None, **context):  # a context key may only default to None
            return [ds, logical_date, context.get("data_interval_start", "absent")]

        show()
        BashOperator(task_id="echo", bash_command="echo {{ ds }}")
    assert run_task(dag, dag.get_task("show"), comms, logical_date=None) == [None, None, "absent"]
    with pytest.raises(jinja2.UndefinedError, match="'ds' is undefined"):
        run_task(dag, dag.get_task("echo"), comms, logical_date=None)


def test_xcom_pull_forms(comms):
    with DAG("pull") as dag:
        def push(ti):
            ti.xcom_push("k", "v")
            return "ret"

        def pull(ti):
            return [ti.xcom_pull(task_ids="push"), ti.xcom_pull(task_ids="push", key="k"),
                    ti.xcom_pull(task_ids=["push", "missing"]), ti.xcom_pull(task_ids="missing", default=7)]

        a = PythonOperator(task_id="push", python_callable=push)
        b = PythonOperator(task_id="pull", python_callable=pull)
        a >> b
    assert run_dag(dag, comms)["pull"] == ["ret", "v", ["ret", None], 7]


def test_templated_python_args_and_user_macros(comms):
    with DAG("tpl", user_defined_macros={"who": "leo"}, params={"n": 2}) as dag:
        t = PythonOperator(task_id="t", python_callable=lambda a, b: f"{a}|{b}",
                           op_args=["{{ ds }}"], op_kwargs={"b": "{{ who }}-{{ params.n }}-{{ macros.ds_add(ds, 1) }}"})
    assert run_task(dag, t, comms) == "2026-01-05|leo-2-2026-01-06"
    assert runtime.rendered_fields(t)["op_kwargs"] == {"b": "leo-2-2026-01-06"}


def test_native_rendering(comms):
    with DAG("native", render_template_as_native_obj=True) as dag:
        t = PythonOperator(task_id="t", python_callable=lambda v: v, op_args=["{{ [1, 2] }}"])
    assert run_task(dag, t, comms) == [1, 2]


def test_variables_and_connections(comms):
    comms.variables.update({"plain": "x", "cfg": '{"a": 1}'})
    comms.connections["db"] = {"conn_id": "db", "conn_type": "postgres", "host": "h", "schema": "s",
                               "login": "u", "password": "p", "port": 5432, "extra": '{"sslmode": "require"}'}
    assert Variable.get("plain") == "x" and Variable.get("cfg", deserialize_json=True) == {"a": 1}
    assert Variable.get("nope", default="d") == "d"
    # Airflow 3.2's own not-found error, which is not a KeyError
    with pytest.raises(AirflowRuntimeError, match=r"^VARIABLE_NOT_FOUND: \{'message': 'Variable nope not found'\}$") as err:
        Variable.get("nope")
    assert not isinstance(err.value, KeyError) and err.value.error.error is ErrorType.VARIABLE_NOT_FOUND
    conn = Connection.get("db")
    assert (conn.host, conn.port, conn.extra_dejson) == ("h", 5432, {"sslmode": "require"})
    assert conn.get_uri() == "postgres://u:p@h:5432/s"
    with DAG("vars") as dag:
        t = PythonOperator(task_id="t", python_callable=lambda v: v,
                           op_args=["{{ var.value.plain }} {{ var.json.cfg.a }} {{ conn.db.host }}"])
    assert run_task(dag, t, comms) == "x 1 h"


def test_without_comms_is_a_clear_error():
    runtime.set_comms(None)
    with pytest.raises(RuntimeError, match="only available while a task runs"):
        Variable.get("x")


def test_execution_timeout(comms):
    import time

    with DAG("slow") as dag:
        t = PythonOperator(task_id="t", python_callable=lambda: time.sleep(5),
                           execution_timeout=dt.timedelta(seconds=0.2))
    with pytest.raises(AirflowTaskTimeout):
        run_task(dag, t, comms)


def test_pre_and_post_execute_hooks(comms):
    calls = []
    with DAG("hooks") as dag:
        t = EmptyOperator(task_id="t", pre_execute=lambda ctx: calls.append("pre"),
                          post_execute=lambda ctx, result: calls.append(("post", result)))
    run_task(dag, t, comms)
    assert calls == ["pre", ("post", None)]


def test_build_context_is_plain(comms):
    with DAG("plainctx") as dag:
        t = EmptyOperator(task_id="t")
    run = make_run(dag)
    ctx = runtime.build_context(dag, t, make_ti(dag, t), run)
    assert ctx["dag_run"].run_type == "manual" and ctx["ti"].map_index == -1
    assert isinstance(MemoryComms(), runtime.Comms)


def test_xcom_values_are_not_rendered_again(comms):
    with DAG("raw") as dag:
        @task
        def produce():
            return "{{ not a template }}"

        @task
        def consume(v, w):
            return v + w

        consume(produce(), "{{ ds }}")
    assert run_dag(dag, comms)["consume"] == "{{ not a template }}2026-01-05"


def test_previous_success_is_asked_only_for_runs_with_a_logical_date(comms):
    import datetime as dt

    asked = []

    def previous(ti_id):
        asked.append(ti_id)
        return {"data_interval_start": "2026-01-04T00:00:00+00:00", "data_interval_end": None,
                "start_date": "2026-01-04T00:05:00Z", "end_date": None}

    comms.get_previous_successful_dagrun = previous
    with DAG("prevs") as dag:
        t = EmptyOperator(task_id="t")
    dated = runtime.build_context(dag, t, make_ti(dag, t), make_run(dag))
    assert asked == ["ti-t"]
    assert dated["prev_start_date_success"] == dt.datetime(2026, 1, 4, 0, 5, tzinfo=dt.timezone.utc)
    assert dated["prev_data_interval_start_success"].day == 4 and dated["prev_end_date_success"] is None
    undated = runtime.build_context(dag, t, make_ti(dag, t), make_run(dag, logical_date=None))
    assert asked == ["ti-t"]  # no earlier run can be compared with: not asked
    assert undated["prev_start_date_success"] is None and undated["prev_end_date_success"] is None
    assert "prev_data_interval_start_success" not in undated  # as in Airflow: no logical date, no interval
