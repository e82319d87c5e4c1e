"""The document hashes the same in every process (its hash decides new DAG versions)."""

import os
import subprocess
import sys

SOURCE = '''
import datetime as dt, sys
from airflow.sdk import DAG, Asset, Param, TaskGroup, task
from airflow.providers.standard.operators.python import ExternalPythonOperator
from airflow.providers.standard.sensors.python import PythonSensor
with DAG("det", schedule=[Asset("s3://b/a"), Asset("s3://b/c")], start_date=dt.datetime(2026, 1, 1),
         tags={"x", "y", "z"}, params={"p": Param(1, type="integer", enum=[1, 2])}):
    with TaskGroup("g", default_args={"retries": 2}):
        def f():
            return 1
        ExternalPythonOperator(task_id="ext", python=sys.executable, python_callable=f)
        PythonSensor(task_id="s", python_callable=lambda: True, mode="reschedule")
    @task
    def m(x):
        return x
    m.expand(x={"a": 1, "b": 2})
'''

SCRIPT = '''
import json, sys
sys.path.insert(0, {app!r})
from leoflow.dagproc.parse import parse_file
result = parse_file({path!r})
print(result.error or json.dumps(result.dags, sort_keys=True))
'''


def test_same_document_under_different_hash_seeds(tmp_path):
    path = tmp_path / "det.py"
    path.write_text(SOURCE)
    app = os.path.join(os.path.dirname(__file__), "..", "..", "app")
    script = SCRIPT.format(app=os.path.abspath(app), path=str(path))
    outputs = []
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] and '"dag_id": "det"' in outputs[0]
