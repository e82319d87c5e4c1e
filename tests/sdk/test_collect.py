"""Collecting DAGs from files: ids, edges, registration, errors."""

import glob
import json
import os

import pytest

from leoflow.sdk.collect import dags_from_file
from leoflow.sdk.exceptions import AirflowDagCycleException, DuplicateTaskIdFound
from leoflow.sdk.serialize import serialize_dag

from .conftest import BENCH_DAGS, EXAMPLE_DAGS, REFERENCE


def edges(doc):
    return {t["task_id"]: t["upstream"] for t in doc["tasks"]}


def test_bench_dags_parse():
    found = {}
    for path in sorted(glob.glob(f"{BENCH_DAGS}/*.py")):
        (dag,) = dags_from_file(path)
        assert dag.fileloc == os.path.abspath(path)
        found[dag.dag_id] = serialize_dag(dag)
    assert sorted(found) == ["bash1", "chain10", "fan100", "xcom3"]
    assert edges(found["bash1"]) == {"hello": []}
    chain = edges(found["chain10"])
    assert chain["t01"] == [] and chain["t10"] == ["t09"] and len(chain) == 10
    fan = edges(found["fan100"])
    assert len(fan) == 102 and fan["p042"] == ["start"] and len(fan["join"]) == 100
    assert edges(found["xcom3"]) == {"extract": [], "transform": ["extract"], "load": ["transform"]}
    assert found["xcom3"]["tags"] == ["anchor"]
    assert found["xcom3"]["tasks"][0]["task_type"] == "_PythonDecoratedOperator"


# Real example DAGs that only use the first milestone's scope.
IN_SCOPE = ["example_simplest_dag.py", "tutorial.py", "tutorial_dag.py", "tutorial_taskflow_api.py",
            "example_xcomargs.py", "example_complex.py", "example_display_name.py",
            "example_trigger_target_dag.py", "example_dag_decorator.py"]


@pytest.mark.parametrize("name", IN_SCOPE)
def test_example_dags_match_airflow(name):
    """Same ids, edges, schedule summary, start date and task fields as real Airflow 3.2.1."""
    path = os.path.join(EXAMPLE_DAGS, name)
    if not os.path.exists(path):
        pytest.skip("reference wheel not unpacked")
    graphs = json.load(open(os.path.join(REFERENCE, "graphs.json")))
    for dag in dags_from_file(path):
        doc = serialize_dag(dag)
        ref = graphs[dag.dag_id]
        assert edges(doc) == {k: sorted(v["upstream_task_ids"]) for k, v in ref["tasks"].items()}
        assert doc["timetable_summary"] == (None if ref["timetable_summary"] in (None, "None") else ref["timetable_summary"])
        assert doc["start_date"] == ref["start_date"]
        assert doc["catchup"] == ref["catchup"]
        assert doc["tags"] == sorted(ref["tags"])
        assert doc["owner"] == ref["owner"]
        assert sorted(doc["params"]) == sorted(ref["params"])
        for task in doc["tasks"]:
            r = ref["tasks"][task["task_id"]]
            assert (task["task_type"], task["trigger_rule"], task["retries"], task["retry_delay"],
                    task["priority_weight"], task["weight_rule"], task["pool"], task["depends_on_past"]) == (
                r["operator_class"], r["trigger_rule"], r["retries"], r["retry_delay_s"],
                r["priority_weight"], r["weight_rule"], r["pool"], r["depends_on_past"])


def test_unassigned_dags_are_registered(dag_file):
    path = dag_file(
        "from airflow.sdk import DAG, dag\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
        "with DAG('ctx_only'):\n"
        "    EmptyOperator(task_id='a')\n"
        "@dag\n"
        "def decorated():\n"
        "    EmptyOperator(task_id='b')\n"
        "decorated()\n"
        "kept = DAG('global_only')\n"
        "EmptyOperator(task_id='c', dag=kept)\n"
    )
    assert sorted(d.dag_id for d in dags_from_file(path)) == ["ctx_only", "decorated", "global_only"]


def test_sibling_imports(tmp_path):
    (tmp_path / "helpers_for_leoflow_test.py").write_text("TASK_ID = 'from_helper'\n")
    (tmp_path / "d.py").write_text(
        "from helpers_for_leoflow_test import TASK_ID\n"
        "from airflow.sdk import DAG\nfrom airflow.operators.empty import EmptyOperator\n"
        "with DAG('sib') as dag:\n    EmptyOperator(task_id=TASK_ID)\n"
    )
    (dag,) = dags_from_file(str(tmp_path / "d.py"))
    assert dag.task_ids == ["from_helper"]


def test_same_file_twice_gives_fresh_dags(dag_file):
    path = dag_file("from airflow.sdk import DAG\nwith DAG('again'):\n    pass\n")
    first, second = dags_from_file(path)[0], dags_from_file(path)[0]
    assert first is not second and first.dag_id == second.dag_id


def test_syntax_error_has_line(dag_file):
    path = dag_file("from airflow.sdk import DAG\n\nwith DAG('x') as dag:\n    oops(\n")
    with pytest.raises(SyntaxError) as info:
        dags_from_file(path)
    assert info.value.lineno == 4 and info.value.filename == path


def test_error_in_dag_file_propagates_and_leaves_no_open_dag(dag_file):
    from leoflow.sdk.dag import current_dag

    path = dag_file("from airflow.sdk import DAG\nwith DAG('x'):\n    raise ValueError('boom')\n")
    with pytest.raises(ValueError, match="boom"):
        dags_from_file(path)
    assert current_dag() is None


def test_duplicate_task_id(dag_file):
    path = dag_file(
        "from airflow.sdk import DAG\nfrom airflow.operators.empty import EmptyOperator\n"
        "with DAG('dup'):\n    EmptyOperator(task_id='a')\n    EmptyOperator(task_id='a')\n"
    )
    with pytest.raises(DuplicateTaskIdFound, match="Task id 'a' has already been added to the DAG"):
        dags_from_file(path)


def test_cycle_is_an_error(dag_file):
    path = dag_file(
        "from airflow.sdk import DAG\nfrom airflow.operators.empty import EmptyOperator\n"
        "with DAG('cyc'):\n    a = EmptyOperator(task_id='a')\n    b = EmptyOperator(task_id='b')\n"
        "    c = EmptyOperator(task_id='c')\n    a >> b >> c >> a\n"
    )
    with pytest.raises(AirflowDagCycleException, match="Cycle detected in DAG: cyc"):
        dags_from_file(path)


def test_unknown_operator_argument_is_an_error(dag_file):
    path = dag_file(
        "from airflow.sdk import DAG\nfrom airflow.operators.bash import BashOperator\n"
        "with DAG('typo'):\n    BashOperator(task_id='a', bash_command='true', retires=3)\n"
    )
    with pytest.raises(TypeError, match="Invalid arguments were passed to BashOperator"):
        dags_from_file(path)
