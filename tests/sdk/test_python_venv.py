"""Running a callable in another interpreter (external python / virtualenv operators)."""

import sys

import pytest

from airflow.providers.standard.operators.python import ExternalPythonOperator, PythonVirtualenvOperator
from airflow.sdk import DAG, task
from leoflow.sdk.exceptions import AirflowException, AirflowSkipException
from leoflow.sdk.operators.python_venv import function_source


def add(a, b=1):
    import sys as inner_sys

    return {"sum": a + b, "exe": inner_sys.executable}


def test_external_python_runs_the_function_in_that_interpreter():
    with DAG("v"):
        op = ExternalPythonOperator(task_id="ext", python=sys.executable, python_callable=add,
                                    op_args=[2], op_kwargs={"b": 5})
    result = op.execute({"ds": "2026-01-05"})
    assert result["sum"] == 7


def test_exit_codes_skip_or_fail(tmp_path):
    def leave():
        import sys as s

        s.exit(3)

    with DAG("v"):
        skip = ExternalPythonOperator(task_id="skip", python=sys.executable, python_callable=leave, skip_on_exit_code=3)
        fail = ExternalPythonOperator(task_id="fail", python=sys.executable, python_callable=leave)
    with pytest.raises(AirflowSkipException):
        skip.execute({})
    with pytest.raises(AirflowException, match="non-zero exit status 3"):
        fail.execute({})


def test_decorated_source_loses_its_decorators_and_lambdas_are_refused():
    with DAG("v") as d:
        @task.virtualenv(requirements=["nothing-to-install"], system_site_packages=True)
        def in_venv(x):
            return x * 2

        in_venv(2)
    op = d.get_task("in_venv")
    assert op.operator_name == "@task.virtualenv" and op.requirements == ["nothing-to-install"]
    source = function_source(op.python_callable)
    assert source.startswith("def in_venv(x):")
    with DAG("w"):
        with pytest.raises(AirflowException, match="only supports functions"):
            PythonVirtualenvOperator(task_id="lam", python_callable=lambda: 1)


def f(args, result):
    """Named like everything a runner script might use."""
    return [args, result]


def test_function_names_do_not_clash_with_the_runner_script():
    with DAG("v"):
        op = ExternalPythonOperator(task_id="f", python=sys.executable, python_callable=f, op_args=[1, 2])
    assert op.execute({}) == [1, 2]
