"""`LEOFLOW_TASK_RUNNER=airflow` in Kubernetes task pods: each pod runs its try with Airflow 3.2.1's own
supervisor and task runner (the interpreter LEOFLOW_AIRFLOW_PYTHON names inside the pod), here process pods
of the fake API (the image holds no Airflow: ADR 27), against `leoflow server` on Postgres."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.kubernetes.conftest import fake_k8s, k8s_cluster  # noqa: F401 - the fixtures
from tests.kubernetes.test_pod_bundles_and_logs import _publish, _with_bundle_version
from tests.kubernetes.test_pods_end_to_end import ETL, states, trigger, wait_log, wait_run

pytestmark = [pytest.mark.postgres, pytest.mark.server, pytest.mark.kubernetes]


@pytest.mark.timeout(300)
def test_pods_run_their_tries_with_airflows_task_runner(k8s_cluster, fake_k8s, airflow_python, tmp_path):  # noqa: F811
    fake_k8s.podman_image = None  # Airflow is installed on this machine, not in the image
    pod_home = tmp_path / "pod-home"
    (replica,), engine = k8s_cluster(
        {"etl.py": ETL}, pod_env={"LEOFLOW_HOME": str(pod_home), "AIRFLOW__WORKERS__MIN_HEARTBEAT_INTERVAL": "1"},
        LEOFLOW_TASK_RUNNER="airflow", LEOFLOW_AIRFLOW_PYTHON=airflow_python,
        LEOFLOW_KUBERNETES_DAGS_FOLDER=str(tmp_path / "not-in-the-pod"))
    sha = _publish(engine, tmp_path / "dags")
    _with_bundle_version(fake_k8s, sha)  # and the DAG file from the bundle the workload names
    run_id = trigger(replica, "etl")
    try:
        state = wait_run(engine, "etl", run_id, 240)
    except AssertionError as exc:  # say where it stood: the tries' states and the replica's log
        raise AssertionError(f"{exc}\n{states(engine, 'etl')}\n{replica.output()}") from None
    assert state == "success", states(engine, "etl")
    with engine.connect() as conn:
        value = conn.execute(text("SELECT value FROM xcom WHERE dag_id = 'etl' AND task_id = 'load'")).scalar()
    assert str(value).strip('"') == "200"
    # Airflow's runner wrote the try's log; the pod shipped it to the server
    log = wait_log(replica, "etl", run_id, "load", 1, "loaded 200")
    assert "airflow.task" in log or "task.stdout" in log, log
    assert (pod_home / "airflow-runner").is_dir() and (pod_home / "bundles" / sha / "etl.py").exists()
