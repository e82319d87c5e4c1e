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


def where(x):
    import sys as inner_sys

    return [x, inner_sys.executable, inner_sys.prefix]


@pytest.mark.timeout(180)
def test_virtualenv_is_made_with_the_python_given_and_a_missing_one_is_named(tmp_path):
    with DAG("v"):
        op = PythonVirtualenvOperator(task_id="venv", python_callable=where, op_args=[3], python=sys.executable,
                                      venv_cache_path=str(tmp_path), system_site_packages=False)
        missing = PythonVirtualenvOperator(task_id="missing", python_callable=where, python="/nonexistent/python3")
        version = PythonVirtualenvOperator(task_id="version", python_callable=where, python_version="2.1")
    x, exe, prefix = op.execute({})
    assert x == 3 and exe.startswith(str(tmp_path)) and prefix.startswith(str(tmp_path / "leoflow-venv-"))
    with pytest.raises(AirflowException, match=r"python='/nonexistent/python3': no such interpreter"):
        missing.execute({})
    with pytest.raises(AirflowException, match=r"python2.1 is not on PATH"):
        version.execute({})


def test_in_the_single_executable_a_python_on_path_makes_the_virtualenv_or_the_error_says_none(tmp_path, monkeypatch):
    # sys.executable is Leoflow itself there: never used to make a virtualenv
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "leoflow"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    with DAG("v"):
        op = PythonVirtualenvOperator(task_id="venv", python_callable=where, op_args=[1])
    with pytest.raises(AirflowException, match="no python3 or python on PATH.*python='/path/to/python'"):
        op.execute({})
    (bin_dir / "python3").symlink_to(sys.base_prefix + "/bin/python3")
    assert op._interpreter() == str(bin_dir / "python3")
