"""Whole runs through `leoflow dags test` of DAG files whose behaviour Airflow 3.2.1 was seen to have:
a `.map()` function that skips one item, naive start dates, Airflow 2's `Variable.get(default_var=)`,
Variables and Connections from `AIRFLOW_VAR_*` / `AIRFLOW_CONN_*`, imports of modules Airflow 3 removed,
and a `@task` call missing an argument. Each DAG checks what it sees inside its tasks; a task that sees
something else fails, and so does its run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

MAP_SKIP = '''
import datetime
from airflow.sdk import dag, task
from airflow.exceptions import AirflowSkipException

@dag(schedule=None, start_date=datetime.datetime(2024, 1, 1))
def map_skip():
    @task
    def numbers():
        return [1, 2, 3, 4]

    def only_even(n):
        if n % 2:
            raise AirflowSkipException(f"odd {n}")
        return n * 10

    @task
    def show(v):
        assert v in (20, 40), v
        return v

    @task
    def total(values):
        return sum(values)

    @task(trigger_rule="none_failed")
    def what_ran(values):
        assert sorted(values) == [20, 40], values

    shown = show.expand(v=numbers().map(only_even))
    total(shown)
    what_ran(shown)

map_skip()
'''

NAIVE_DATES = '''
import datetime
from airflow.sdk import DAG, task
from airflow.providers.standard.operators.empty import EmptyOperator

UTC = datetime.timezone.utc

with DAG("naive_dates", schedule="@daily", start_date=datetime.datetime(2024, 1, 1), catchup=False) as d:
    earlier = EmptyOperator(task_id="earlier", start_date=datetime.datetime(2023, 6, 1))
    later = EmptyOperator(task_id="later", start_date=datetime.datetime(2025, 6, 1, 12))

    @task
    def check(**context):
        dag, me = context["dag"], context["task"]
        assert dag.start_date == datetime.datetime(2024, 1, 1, tzinfo=UTC) and dag.start_date.utcoffset() is not None
        assert dag.timezone.name == "UTC", dag.timezone
        assert me.start_date == dag.start_date, me.start_date  # filled from the DAG's
        assert dag.get_task("earlier").start_date == dag.start_date  # the later of the two
        assert dag.get_task("later").start_date == datetime.datetime(2025, 6, 1, 12, tzinfo=UTC)
        assert (context["data_interval_start"] - dag.start_date).days == 60  # a naive one raised TypeError
    check()

# At parse time too, as Airflow: aware, in UTC
assert d.start_date.utcoffset() is not None and earlier.start_date == d.start_date
'''

VARIABLES = '''
import datetime
from airflow.sdk import DAG, Connection, Variable, task
from airflow.hooks.base import BaseHook
from airflow.models import Variable as Airflow2Variable
from airflow.providers.standard.operators.bash import BashOperator

ENV_AT_PARSE = Variable.get("from_env")  # top level: read while the file is parsed

with DAG("variables", schedule=None, start_date=datetime.datetime(2024, 1, 1)):
    @task
    def read():
        from airflow.sdk.exceptions import AirflowRuntimeError, ErrorType

        assert ENV_AT_PARSE == "hello from the environment"
        assert Variable.get("from_env") == "hello from the environment"
        assert Variable.get("json_env", deserialize_json=True) == {"rows": [1, 2]}
        assert Airflow2Variable.get("absent", default_var="fallback") == "fallback"
        assert Airflow2Variable.get("from_env", default_var="unused") == "hello from the environment"
        for getter in (Variable.get, Airflow2Variable.get):
            try:
                getter("absent")
            except AirflowRuntimeError as err:
                assert not isinstance(err, KeyError)
                assert err.error.error == ErrorType.VARIABLE_NOT_FOUND
                assert str(err) == "VARIABLE_NOT_FOUND: {'message': 'Variable absent not found'}", str(err)
            else:
                raise AssertionError("a missing variable must raise")
        try:
            Variable.get("absent", default_var="x")  # the Airflow 2 keyword is not airflow.sdk's
        except TypeError:
            pass
        else:
            raise AssertionError("airflow.sdk.Variable.get takes default=, not default_var=")
        uri = BaseHook.get_connection("warehouse")
        assert (uri.conn_type, uri.host, uri.login, uri.password, uri.port, uri.schema) == (
            "postgres", "db.example.com", "us@er", "p/ss", 5433, "my db")
        assert uri.extra_dejson == {"sslmode": "require"}
        js = Connection.get("api_json")
        assert (js.conn_type, js.host, js.port, js.extra_dejson) == ("my_type", "h", 99, {"k": "v"})
        return "ok"

    read() >> BashOperator(task_id="templated", bash_command=(
        'test "{{ var.value.from_env }}|{{ conn.warehouse.host }}" = "hello from the environment|db.example.com"'))
'''

ENV = {
    "AIRFLOW_VAR_FROM_ENV": "hello from the environment",
    "AIRFLOW_VAR_JSON_ENV": '{"rows": [1, 2]}',
    "AIRFLOW_CONN_WAREHOUSE": "postgresql://us%40er:p%2Fss@db.example.com:5433/my%20db?sslmode=require",
    "AIRFLOW_CONN_API_JSON": '{"conn_type": "my-type", "host": "h", "port": "99", "extra": {"k": "v"}}',
}

REMOVED_WITH_FALLBACK = '''
import datetime
from airflow.sdk import DAG
try:
    from airflow.operators.dummy import DummyOperator  # Airflow 2 only
except ModuleNotFoundError:
    from airflow.providers.standard.operators.empty import EmptyOperator as DummyOperator
try:
    from airflow.operators.bash_operator import BashOperator
except ImportError:
    from airflow.providers.standard.operators.bash import BashOperator

with DAG("removed_with_fallback", schedule=None, start_date=datetime.datetime(2024, 1, 1)):
    DummyOperator(task_id="start") >> BashOperator(task_id="say", bash_command="echo hi")
'''

REMOVED_WITHOUT_FALLBACK = '''
import datetime
from airflow.sdk import DAG
from airflow.operators.subdag import SubDagOperator

with DAG("removed_without_fallback", schedule=None, start_date=datetime.datetime(2024, 1, 1)):
    pass
'''

MISSING_ARGUMENT = '''
import datetime
from airflow.sdk import dag, task

@dag(schedule=None, start_date=datetime.datetime(2024, 1, 1))
def missing_argument():
    @task
    def add(a, b):
        return a + b

    add(1)

missing_argument()
'''

FILES = {"map_skip": MAP_SKIP, "naive_dates": NAIVE_DATES, "variables": VARIABLES,
         "removed_with_fallback": REMOVED_WITH_FALLBACK, "removed_without_fallback": REMOVED_WITHOUT_FALLBACK,
         "missing_argument": MISSING_ARGUMENT}


def dags_test(folder, dag_id: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "leoflow", "dags", "test", dag_id, "2024-03-01", "-o", "json", "--isolated",
                           "--dags-folder", str(folder)], capture_output=True, text=True,
                          env={**os.environ, **ENV}, timeout=120)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dags")
    for name, source in FILES.items():
        (folder / f"{name}.py").write_text(source)
    with ThreadPoolExecutor(3) as pool:
        futures = {name: pool.submit(dags_test, folder, name) for name in FILES}
        return {name: f.result() for name, f in futures.items()} | {"folder": folder}


def outcome(proc: subprocess.CompletedProcess) -> dict:
    body = json.loads(proc.stdout.strip().splitlines()[-1])
    tasks = {(t["task_id"] if t["map_index"] < 0 else f"{t['task_id']}[{t['map_index']}]"): t["state"]
             for t in body["tasks"]}
    return {"run": body["run_state"], "tasks": tasks}


def test_a_map_function_that_skips_an_item_skips_only_that_mapped_instance(runs):
    assert outcome(runs["map_skip"]) == {"run": "success", "tasks": {
        "numbers": "success", "show[0]": "skipped", "show[1]": "success", "show[2]": "skipped",
        "show[3]": "success",
        "total": "skipped",  # all_success with skipped upstreams, as in Airflow
        "what_ran": "success"}}, runs["map_skip"].stderr[-3000:]


def test_naive_start_dates_become_utc_and_tasks_get_the_dags(runs):
    assert outcome(runs["naive_dates"]) == {"run": "success", "tasks": {
        "check": "success", "earlier": "success", "later": "success"}}, runs["naive_dates"].stderr[-3000:]


def test_variables_and_connections_come_from_the_environment_first(runs):
    assert outcome(runs["variables"]) == {"run": "success", "tasks": {
        "read": "success", "templated": "success"}}, runs["variables"].stderr[-3000:]


def test_an_import_of_a_removed_module_takes_the_dag_files_fallback(runs):
    assert outcome(runs["removed_with_fallback"]) == {"run": "success", "tasks": {
        "start": "success", "say": "success"}}, runs["removed_with_fallback"].stderr[-3000:]


def test_an_import_of_a_removed_module_names_its_replacement(runs):
    proc = runs["removed_without_fallback"]
    assert proc.returncode == 1
    path = runs["folder"] / "removed_without_fallback.py"
    assert f'File "{path}", line 4, in <module>' in proc.stderr
    assert ("ModuleNotFoundError: No module named 'airflow.operators.subdag': it was removed in Airflow 3; "
            "use a task group: `airflow.sdk.TaskGroup` or `@task_group` (SubDAGs were removed) instead"
            in proc.stderr), proc.stderr
    assert "does not support" not in proc.stderr


def test_a_task_call_missing_an_argument_is_an_import_error_at_its_line(runs):
    proc = runs["missing_argument"]
    assert proc.returncode == 1
    path = runs["folder"] / "missing_argument.py"
    assert f'File "{path}", line 11, in missing_argument\n    add(1)' in proc.stderr, proc.stderr
    assert "TypeError: missing a required argument: 'b'" in proc.stderr
