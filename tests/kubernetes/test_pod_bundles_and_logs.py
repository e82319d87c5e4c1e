"""Task pods away from every server: they fetch their DAG bundle by the hash the workload names
(LEOFLOW_KUBERNETES_DAGS=bundle) and ship their try's log to the server themselves, so a pod deleted
from outside before its log was read loses nothing. `leoflow server` + the fake API + process pods."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from sqlalchemy import text

from leoflow.agents import bundles
from leoflow.executors.kubernetes import names
from tests.kubernetes.test_pods_end_to_end import ETL, SLOW, log_events, states, trigger, wait_log, wait_run
from tests.server.cluster import SECRET_KEY, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.server, pytest.mark.kubernetes]


def _with_bundle_version(fake, sha: str) -> list:
    """Every workload Secret the fake API receives names DAG bundle `sha` in bundle_info.version (what the
    scheduler puts there once runs carry their bundle's hash). The workloads seen, returned."""
    seen = []
    create = fake.create

    def rewriting(kind, namespace, obj):
        if kind == "Secret" and names.WORKLOAD_FILE in (obj.get("data") or {}):
            workload = json.loads(base64.b64decode(obj["data"][names.WORKLOAD_FILE]))
            seen.append(workload["bundle_info"].get("version"))
            workload["bundle_info"] = {**workload["bundle_info"], "version": sha}
            obj["data"][names.WORKLOAD_FILE] = base64.b64encode(json.dumps(workload).encode()).decode()
        return create(kind, namespace, obj)

    fake.create = rewriting
    return seen


def _publish(engine, folder) -> str:
    from leoflow.store import agents as store

    sha, data = bundles.build(folder)
    with engine.begin() as conn:
        store.put_bundle(conn, sha, data)
    return sha


@pytest.mark.timeout(240)
def test_pods_run_the_dag_bundle_the_workload_names_cached_by_hash(k8s_cluster, fake_k8s, tmp_path):
    in_image = fake_k8s.podman_image is not None  # LEOFLOW_TEST_IMAGE: the pods are containers of the image
    pod_home = tmp_path / "pod-home"  # a process pod's home is a folder of this test; a container's its own
    # The pods' own DAG folder does not exist: only the bundle can give them the DAG file.
    (replica,), engine = k8s_cluster({"etl.py": ETL}, pod_env={} if in_image else {"LEOFLOW_HOME": str(pod_home)},
                                     LEOFLOW_KUBERNETES_DAGS="bundle",
                                     LEOFLOW_KUBERNETES_DAGS_FOLDER=str(tmp_path / "not-in-the-pod"))
    sha = _publish(engine, tmp_path / "dags")
    seen = _with_bundle_version(fake_k8s, sha)
    run_id = trigger(replica, "etl")
    assert wait_run(engine, "etl", run_id, 120) == "success", states(engine, "etl")
    # The scheduler named the run's bundle itself: the same tar of the same folder.
    assert seen and set(seen) == {sha}, seen
    with engine.connect() as conn:
        assert bundles.run_bundle(conn, "etl", run_id) == sha
    with engine.connect() as conn:
        value = conn.execute(text("SELECT value FROM xcom WHERE dag_id = 'etl' AND task_id = 'load'")).scalar()
    assert str(value).strip('"') == "200"
    if not in_image:  # extracted once per hash in the pod's home, as the agents keep theirs
        assert (pod_home / "bundles" / sha / "etl.py").read_text() == ETL
        assert [p.name for p in (pod_home / "bundles").iterdir() if not p.name.startswith(".")] == [sha]
    for pod in fake_k8s.pods():
        env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0]["env"]}
        assert env["LEOFLOW_KUBERNETES_DAGS"] == "bundle"

    # The route asks for the try's own token; a bad hash is a 422 naming it, an unknown one a 404.
    from leoflow.execution_api import tokens
    from leoflow.store.tis import get_ti_by_key

    with engine.connect() as conn:
        ti = get_ti_by_key(conn, "etl", run_id, "load")
    import hashlib
    import hmac

    secret = hmac.new(SECRET_KEY.encode(), b"leoflow:jwt-execution", hashlib.sha256).hexdigest()
    token = tokens.issue(secret, ti.id, scope=tokens.WORKLOAD, try_number=ti.try_number)
    base = f"{replica.base}/execution/leoflow/bundles"
    assert httpx.get(f"{base}/{sha}").status_code == 401
    with engine.begin() as conn:  # a try that waits for its pod
        conn.execute(text("UPDATE task_instance SET state = 'queued' WHERE id = :id"), {"id": ti.id})
    auth = {"Authorization": f"Bearer {token}"}
    got = httpx.get(f"{base}/{sha}", headers=auth)
    assert got.status_code == 200 and got.headers["content-type"] == "application/x-tar"
    assert bundles.extract(got.content, sha, tmp_path / "check").joinpath("etl.py").read_text() == ETL
    bad = httpx.get(f"{base}/..%2F..%2Fetc", headers=auth)
    assert bad.status_code in (404, 422)
    bad = httpx.get(f"{base}/{'A' * 64}", headers=auth)
    assert bad.status_code == 422 and "sha256" in bad.text
    assert httpx.get(f"{base}/{'0' * 64}", headers=auth).status_code == 404
    logs = f"{replica.base}/execution/leoflow/logs/{ti.id}"
    assert httpx.post(logs, headers=auth, json={"seq": "x", "lines": "a\n"}).status_code == 422
    assert httpx.post(logs, headers=auth, json={"seq": 1, "lines": 5}).status_code == 422
    other = tokens.issue(secret, "0195b7a0-0000-7000-8000-0000000000ff", scope=tokens.WORKLOAD, try_number=1)
    assert httpx.get(logs, headers={"Authorization": f"Bearer {other}"}).status_code == 403


@pytest.mark.timeout(240)
def test_a_pod_without_a_bundle_in_its_workload_reads_the_mounted_folder(k8s_cluster, fake_k8s, tmp_path):
    """Until a workload names a bundle (bundle_info.version None) the pod reads the mounted DAG folder;
    LEOFLOW_KUBERNETES_DAGS=mounted reads it whatever the workload names."""
    fake_k8s.podman_image = None
    (replica,), engine = k8s_cluster({"etl.py": ETL}, pod_env={"LEOFLOW_HOME": str(tmp_path / "pod-home")},
                                     LEOFLOW_KUBERNETES_DAGS="mounted")
    _with_bundle_version(fake_k8s, "0" * 64)  # no such bundle: a pod that fetched it would fail
    run_id = trigger(replica, "etl")
    assert wait_run(engine, "etl", run_id, 120) == "success", states(engine, "etl")
    assert not (tmp_path / "pod-home" / "bundles").exists()


@pytest.mark.timeout(240)
def test_a_pod_deleted_from_outside_keeps_the_tail_of_its_log(k8s_cluster, fake_k8s):
    """`kubectl delete pod --force` while the task runs: what the task logged up to its end (the runner's
    SIGTERM record, written after the pod was gone from the API) is in the try's log though the pod's log
    could no longer be read."""
    fake_k8s.podman_image = None
    (replica,), engine = k8s_cluster({"slow.py": SLOW})
    run_id = trigger(replica, "slow")
    wait_for(lambda: len([p for p in fake_k8s.pods() if p["status"]["phase"] == "Running"]) == 4, 60, "pods running")
    pod = next(p for p in fake_k8s.pods() if p["metadata"]["labels"].get("map_index") == "1")
    name = pod["metadata"]["name"]
    wait_for(lambda: b"napping 1" in (fake_k8s.pod_log("tasks", name) or b""), 30, "the task started")
    fake_k8s.force_delete("tasks", name)
    wait_for(lambda: fake_k8s.pod_log("tasks", name) is None, 30, "the pod gone")
    assert wait_run(engine, "slow", run_id, 120) == "failed"
    assert states(engine, "slow")[("nap", 1)][0] == "failed"
    tail = wait_log(replica, "slow", run_id, "nap", 1, "Received SIGTERM", map_index=1)
    assert "napping 1" in tail
    # the others ran on, their logs whole, each line once
    other = log_events(replica, "slow", run_id, "nap", 1, map_index=2)
    assert sum("napping 2" in line for line in other) == 1, other
    wait_log(replica, "slow", run_id, "nap", 1, "Returned value", map_index=2)


QUIET = '''
import time

from airflow.sdk import dag, task


@dag(dag_id="quiet", schedule=None, catchup=False)
def quiet():
    @task(retries=0)
    def hush():
        print("before the silence", flush=True)
        time.sleep(14)  # longer than an execution token lives here
        print("after the silence", flush=True)

    hush()


quiet()
'''


@pytest.mark.timeout(240)
def test_a_pod_ships_its_log_past_a_silence_longer_than_an_execution_token_lives(k8s_cluster, fake_k8s):
    fake_k8s.podman_image = None
    (replica,), engine = k8s_cluster({"quiet.py": QUIET}, LEOFLOW_EXECUTION_TOKEN_LIFETIME="6")
    run_id = trigger(replica, "quiet")
    assert wait_run(engine, "quiet", run_id, 120) == "success", states(engine, "quiet")
    # the pod's log is gone with it: only what the pod shipped can hold the last line
    wait_for(lambda: fake_k8s.pods() == [], 30, "the pod deleted")
    log = wait_log(replica, "quiet", run_id, "hush", 1, "after the silence")
    assert "before the silence" in log
