"""BashOperator: output, exit codes, templating, env, script files, @task.bash."""

import logging

import pytest

from airflow.exceptions import AirflowException, AirflowSkipException
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, task
from leoflow.sdk import runtime

from .conftest import run_task


def one(command, **kwargs):
    with DAG("b", **kwargs.pop("dag_kwargs", {})) as dag:
        t = BashOperator(task_id="t", bash_command=command, **kwargs)
    return dag, t


def test_last_line_is_return_value_and_lines_are_logged(comms, caplog):
    dag, t = one("echo first; echo second")
    with caplog.at_level(logging.INFO):
        assert run_task(dag, t, comms) == "second"
    hook_lines = [r.getMessage() for r in caplog.records if r.name.startswith("airflow.task.hooks")]
    assert "first" in hook_lines and "second" in hook_lines
    assert any("exited with return code 0" in line for line in hook_lines)


def test_non_zero_exit_fails(comms):
    dag, t = one("exit 3")
    with pytest.raises(AirflowException, match="Bash command failed. The command returned a non-zero exit code 3."):
        run_task(dag, t, comms)


def test_exit_99_skips(comms):
    dag, t = one("exit 99")
    with pytest.raises(AirflowSkipException):
        run_task(dag, t, comms)
    dag, t = one("exit 5", skip_on_exit_code=[5])
    with pytest.raises(AirflowSkipException):
        run_task(dag, t, comms)


def test_templating(comms):
    dag, t = one('echo "{{ ds }} {{ params.x }} {{ task.task_id }}"', dag_kwargs={"params": {"x": "px"}})
    assert run_task(dag, t, comms) == "2026-01-05 px t"
    assert runtime.rendered_fields(t)["bash_command"] == 'echo "2026-01-05 px t"'


def test_env_and_append_env(comms, monkeypatch):
    monkeypatch.setenv("LEOFLOW_TEST_OUTER", "outer")
    dag, t = one('echo "${A:-}-${LEOFLOW_TEST_OUTER:-none}-$AIRFLOW_CTX_DAG_ID"', env={"A": "{{ ds_nodash }}"})
    assert run_task(dag, t, comms) == "20260105-none-b"
    dag, t = one('echo "$A-$LEOFLOW_TEST_OUTER"', env={"A": "a"}, append_env=True)
    assert run_task(dag, t, comms) == "a-outer"


def test_cwd(comms, tmp_path):
    dag, t = one("pwd", cwd=str(tmp_path))
    assert run_task(dag, t, comms) == str(tmp_path)


def test_script_file_is_a_template(comms, tmp_path):
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "hello.sh").write_text('echo "hello {{ ds }}"\n')
    dag, t = one("hello.sh", dag_kwargs={"template_searchpath": str(tmp_path / "scripts")})
    assert run_task(dag, t, comms) == "hello 2026-01-05"


def test_script_next_to_dag_file(comms, dag_file):
    from leoflow.sdk.collect import dags_from_file

    path = dag_file(
        "from airflow.sdk import DAG\nfrom airflow.operators.bash import BashOperator\n"
        "with DAG('f'):\n    BashOperator(task_id='t', bash_command='run.sh')\n"
    )
    with open(path.replace("my_dag.py", "run.sh"), "w") as fh:
        fh.write("echo from-file\n")
    (dag,) = dags_from_file(path)
    assert run_task(dag, dag.get_task("t"), comms) == "from-file"


def test_task_bash_decorator(comms):
    with DAG("tb") as dag:
        @task.bash
        def greet(name):
            return 'echo "hi ' + name + ' {{ ds }}"'

        greet("leo")
    assert run_task(dag, dag.get_task("greet"), comms) == "hi leo 2026-01-05"


def test_tutorial_templated_task(comms):
    import os

    from leoflow.sdk.collect import dags_from_file

    from .conftest import EXAMPLE_DAGS

    path = os.path.join(EXAMPLE_DAGS, "tutorial.py")
    if not os.path.exists(path):
        pytest.skip("reference wheel not unpacked")
    (dag,) = dags_from_file(path)
    assert run_task(dag, dag.get_task("templated"), comms) == "2026-01-12"  # ds + 7 days, last line
    assert "2026-01-12" in runtime.rendered_fields(dag.get_task("templated"))["bash_command"]
