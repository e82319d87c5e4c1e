"""A `@task` call is checked against its function when the DAG file runs, as Airflow 3.2.1 does: a missing
or unknown argument is an import error at the call's line (observed wording), not a failure at run time."""

import pytest

from airflow.sdk import DAG, TaskGroup, task
from leoflow.dagproc.parse import parse_file


def test_a_missing_argument_is_refused_with_airflows_wording():
    with DAG("calls"):
        @task
        def add(a, b, c=3):
            return a + b

        with pytest.raises(TypeError, match=r"^missing a required argument: 'b'$"):
            add(1)
        with pytest.raises(TypeError, match=r"^got an unexpected keyword argument 'z'$"):
            add(1, 2, z=4)

        @task
        def keyword_only(x, *, key):
            return x

        with pytest.raises(TypeError, match=r"^missing a required argument: 'key'$"):
            keyword_only(x=1)


def test_context_keys_count_as_given_and_may_only_default_to_none():
    with DAG("calls") as d:
        @task
        def uses_context(a, ti, ds=None, params=None, **context):
            return a

        uses_context(1)

        @task
        def context_first(ti, x):  # `x` keeps a None default only for the order; it is still required
            return x

        context_first(x=1)
        with pytest.raises(TypeError, match=r"^missing required argument\(s\): x$"):
            context_first()

        @task
        def bad_default(ds="today"):
            return ds

        with pytest.raises(ValueError, match="Context key parameter ds can't have a default other than None"):
            bad_default()
    assert sorted(d.task_ids) == ["context_first", "uses_context"]


def test_default_args_fill_the_functions_parameters():
    with DAG("calls", default_args={"b": 5, "retries": 2}) as d:
        @task
        def add(a, b):
            return a + b

        add(1)
        with TaskGroup("grp", default_args={"b": 7}):
            add(2)
        add(3, 4)  # given by position: default_args do not override it
    assert d.get_task("add").op_kwargs == {"b": 5} and d.get_task("add").retries == 2
    assert d.get_task("grp.add").op_kwargs == {"b": 7}
    assert (d.get_task("add__1").op_args, d.get_task("add__1").op_kwargs) == ([3, 4], {})


def test_mapped_calls_are_checked_only_when_they_run():
    with DAG("calls") as d:
        @task
        def add(a, b):
            return a + b

        add.partial(b=1).expand(a=[1, 2])
        add.expand(a=[1, 2])  # as Airflow: `b` may be missing at parse time
    assert sorted(d.task_ids) == ["add", "add__1"]


def test_the_import_error_names_the_file_and_the_line_of_the_call(tmp_path):
    path = tmp_path / "calls.py"
    path.write_text('''import datetime
from airflow.sdk import dag, task

@dag(schedule=None, start_date=datetime.datetime(2024, 1, 1))
def calls():
    @task
    def add(a, b):
        return a + b

    add(1)

calls()
''')
    result = parse_file(str(path))
    assert result.dags == []
    assert f'File "{path}", line 10, in calls\n    add(1)\n' in result.error
    assert result.error.endswith("TypeError: missing a required argument: 'b'\n")


def test_a_dag_of_valid_calls_still_parses(tmp_path):
    path = tmp_path / "fine.py"
    path.write_text('''import datetime
from airflow.sdk import DAG, task

with DAG("fine", schedule=None, start_date=datetime.datetime(2024, 1, 1), default_args={"n": 2}):
    @task
    def double(n, ti=None):
        return n * 2

    @task
    def show(value, *, label="v"):
        print(label, value)

    show(double())
''')
    result = parse_file(str(path))
    assert result.error is None and [d["dag_id"] for d in result.dags] == ["fine"]
