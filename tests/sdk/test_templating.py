"""Templating: template files from the search path, user macros and filters, native objects, macros."""

import datetime as dt

from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from leoflow.sdk import macros
from leoflow.sdk.templating import render_task_fields

CONTEXT = {"ds": "2026-01-05", "params": {"who": "world"}, "macros": macros,
           "logical_date": dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc)}


def test_template_file_from_searchpath_with_user_macros_and_filters(tmp_path):
    folder = tmp_path / "sql"
    folder.mkdir()
    (folder / "hello.sh").write_text("echo {{ greet(params.who) | shout }} {{ macros.ds_add(ds, 3) }}\n")
    with DAG("t", template_searchpath=str(folder), user_defined_macros={"greet": lambda w: f"hi {w}"},
             user_defined_filters={"shout": str.upper}):
        op = BashOperator(task_id="b", bash_command="hello.sh")
    render_task_fields(op, dict(CONTEXT))
    assert op.bash_command == "echo HI WORLD 2026-01-08\n"
    assert op.__dict__["_rendered_fields"]["bash_command"] == op.bash_command


def test_native_objects_dag_wide_and_per_task():
    with DAG("n", render_template_as_native_obj=True):
        native = PythonOperator(task_id="native", python_callable=print, op_args=["{{ [1, 2] }}"])
        text = PythonOperator(task_id="text", python_callable=print, op_args=["{{ [1, 2] }}"],
                              render_template_as_native_obj=False)
    render_task_fields(native, dict(CONTEXT))
    render_task_fields(text, dict(CONTEXT))
    assert native.op_args == [[1, 2]] and text.op_args == ["[1, 2]"]


def test_macros_module():
    assert macros.ds_add("2026-01-05", -5) == "2025-12-31"
    assert macros.ds_format("2026-01-05", "%Y-%m-%d", "%d/%m/%y") == "05/01/26"
    assert macros.datetime(2026, 1, 5) + macros.timedelta(days=1) == dt.datetime(2026, 1, 6)
    assert {"json", "random", "time", "uuid", "dateutil"} <= set(vars(macros))
    assert 0 <= macros.random() < 1 and macros.time.time() > 0  # Airflow's: random() is a function
    assert macros.dateutil.parser.parse("2019-09-26").day == 26


def test_dag_param_reference_and_async_callables():
    from airflow.sdk import task

    with DAG("p", params={"n": 1}) as d:
        op = PythonOperator(task_id="use", python_callable=lambda n: n, op_kwargs={"n": d.param("n")})

        @task
        async def coro(x):
            return x + 1

        coro(1)
    render_task_fields(op, {"params": {"n": 5}})
    assert op.op_kwargs == {"n": 5}
    assert d.get_task("coro").execute_callable({}) == 2


def test_a_single_string_template_field_is_one_field():
    from airflow.sdk import BaseOperator

    class Op(BaseOperator):
        template_fields = "sql"

        def __init__(self, sql, **kwargs):
            super().__init__(**kwargs)
            self.sql = sql

    with DAG("s"):
        op = Op(task_id="o", sql="select '{{ ds }}'")
    render_task_fields(op, dict(CONTEXT))
    assert Op.template_fields == ("sql",) and op.sql == "select '2026-01-05'"


def test_dag_doc_md_may_name_a_markdown_file(tmp_path, dag_file):
    from leoflow.sdk import collect
    from leoflow.sdk.serialize import serialize_dag

    (tmp_path / "about.md").write_text("# About\nThis DAG.\n")
    path = dag_file("from airflow.sdk import DAG\nwith DAG('doc', doc_md='about.md'):\n    pass\n"
                    "with DAG('plain', doc_md='see notes.md'):\n    pass\n")
    docs = {d.dag_id: serialize_dag(d)["doc_md"] for d in collect.dags_from_file(path)}
    assert docs == {"doc": "# About\nThis DAG.\n", "plain": "see notes.md"}
