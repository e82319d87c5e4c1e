"""`leoflow server` with LEOFLOW_EXECUTOR=kubernetes against the fake API: every try is a real pod
(a process running `leoflow execute-workload`, or a podman container), checked from the database, the
REST API and the fake's own record of pods."""

from __future__ import annotations

import collections
import json

import pytest
from sqlalchemy import text

from tests.server.cluster import leader, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.server, pytest.mark.kubernetes]

ETL = '''
from airflow.sdk import dag, task


@dag(dag_id="etl", schedule=None, catchup=False)
def etl():
    @task
    def extract():
        return {"rows": [1, 2, 3]}

    @task
    def transform(data):
        return sum(data["rows"]) * 100 // 3  # 200

    @task
    def load(total):
        print(f"loaded {total}")
        assert total == 200
        return total

    load(transform(extract()))


etl()
'''

FAN = '''
import time

from airflow.sdk import dag, task


@dag(dag_id="fan", schedule=None, catchup=False)
def fan():
    @task
    def work(i):
        time.sleep(0.5)
        return i

    work.expand(i=list(range(30)))


fan()
'''

FAILING = '''
import datetime as dt
import os

from airflow.sdk import dag, task


@dag(dag_id="failing", schedule=None, catchup=False,
     default_args={"retries": 1, "retry_delay": dt.timedelta(seconds=1)})
def failing():
    @task
    def raises():
        raise ValueError("this task always fails")

    @task(retries=0)
    def crashes():
        os._exit(3)  # the runner dies: the pod fails with exit code 3

    raises()
    crashes()


failing()
'''

PENDING = '''
from airflow.sdk import dag, task
from kubernetes.client import models as k8s


@dag(dag_id="pending", schedule=None, catchup=False)
def pending():
    @task(retries=0, executor_config={"pod_override": k8s.V1Pod(spec=k8s.V1PodSpec(
        node_selector={"fake.leoflow.dev/unschedulable": "true"}, containers=[k8s.V1Container(name="base")]))})
    def never_scheduled():
        return 1

    @task(retries=0, executor_config={"pod_override": {"spec": {"containers": [
        {"name": "base", "image": "registry.invalid/err-image-pull:1"}]}}})
    def bad_image():
        return 1

    never_scheduled()
    bad_image()


pending()
'''

SLOW = '''
import time

from airflow.sdk import dag, task


@dag(dag_id="slow", schedule=None, catchup=False)
def slow():
    @task(retries=0)
    def nap(i):
        print(f"napping {i}", flush=True)
        time.sleep(15)  # long enough that the pods outlive a leader's takeover on a loaded machine
        return i

    nap.expand(i=[0, 1, 2, 3])


slow()
'''


def trigger(replica, dag_id: str) -> str:
    wait_for(lambda: replica.api("GET", f"/api/v2/dags/{dag_id}").status_code == 200, 60, f"{dag_id} parsed")
    r = replica.api("PATCH", f"/api/v2/dags/{dag_id}", json={"is_paused": False})
    assert r.status_code == 200, r.text
    r = replica.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", json={"logical_date": None})
    assert r.status_code == 200, r.text
    return r.json()["dag_run_id"]


def wait_run(engine, dag_id: str, run_id: str, timeout: float) -> str:
    def state():
        with engine.connect() as conn:
            value = conn.execute(text("SELECT state FROM dag_run WHERE dag_id = :d AND run_id = :r"),
                                 {"d": dag_id, "r": run_id}).scalar()
        return value if value in ("success", "failed") else None

    return wait_for(state, timeout, f"{dag_id} finished", interval=0.3)


def states(engine, dag_id: str) -> dict:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT task_id, map_index, state, try_number FROM task_instance "
                                 "WHERE dag_id = :d"), {"d": dag_id}).all()
    return {(r.task_id, r.map_index): (r.state, r.try_number) for r in rows}


def log_events(replica, dag_id, run_id, task_id, try_number, map_index=-1) -> list[str]:
    r = replica.api("GET", f"/api/v2/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
                    params={"map_index": map_index})
    assert r.status_code == 200, r.text
    return [json.dumps(line) for line in r.json()["content"]]  # whole records: an error's detail too


def wait_log(replica, dag_id, run_id, task_id, try_number, needle: str, map_index=-1) -> str:
    """The try's log once it holds `needle`: a pod's log is read while it runs and once more after it ended,
    which may be just after its run was recorded finished."""
    def text_now():
        text = " ".join(log_events(replica, dag_id, run_id, task_id, try_number, map_index))
        return text if needle in text else None

    try:
        return wait_for(text_now, 20, f"{needle!r} in the log of {task_id}", interval=0.3)
    except AssertionError:
        raise AssertionError(" ".join(log_events(replica, dag_id, run_id, task_id, try_number, map_index)))


def expire_watch(fake) -> None:
    """Compact until an open watch is told 410 Gone: a compaction while the executor lists between two
    watches expires nothing (its next watch starts past it)."""
    for _ in range(20):
        before = fake.gone_sent
        fake.compact()
        try:
            wait_for(lambda: fake.gone_sent > before, 1.0, "a watch told 410 Gone", interval=0.05)
            return
        except AssertionError:
            continue
    raise AssertionError("no watch was ever expired")


def assert_nothing_left(engine, fake) -> None:
    """Nothing stuck, no try started twice, no pod made twice, no pod or secret left over (failed pods are
    kept, as Airflow keeps them)."""
    with engine.connect() as conn:
        twice = conn.execute(text(
            "SELECT dag_id, task_id, map_index, try_number, count(*) FROM log WHERE event = 'running' "
            "GROUP BY dag_id, run_id, task_id, map_index, try_number HAVING count(*) > 1")).all()
        active = conn.execute(text("SELECT count(*) FROM task_instance WHERE state IN "
                                   "('queued', 'running', 'scheduled', 'restarting')")).scalar()
    assert twice == [] and active == 0, (twice, active)
    duplicates = [n for n, c in collections.Counter(fake.created_pods).items() if c > 1]
    assert duplicates == []
    wait_for(lambda: all(p["status"]["phase"] == "Failed" for p in fake.pods()), 20,
             "every pod deleted or kept after failing")
    # only what the chart's least-privilege Role allows: pods create/get/list/watch/delete, pods/log get,
    # secrets create/delete (no patch, no secret reads)
    allowed = {("POST", "pods"), ("GET", "pods"), ("DELETE", "pods"), ("GET", "log"), ("POST", "secrets"),
               ("DELETE", "secrets")}
    used = {(method, path.rstrip("/").split("/")[-1] if path.endswith(("/pods", "/secrets", "/log"))
             else path.split("/")[-2]) for method, path in fake.requests}
    assert used <= allowed, used - allowed
    live = {p["metadata"]["uid"] for p in fake.pods()}
    for secret in fake.secrets():
        assert {ref["uid"] for ref in secret["metadata"]["ownerReferences"]} <= live


@pytest.mark.timeout(300)
def test_etl_fan_out_failures_and_pending_pods_run_as_pods(k8s_cluster, fake_k8s):
    (replica,), engine = k8s_cluster({"etl.py": ETL, "fan.py": FAN, "failing.py": FAILING, "pending.py": PENDING},
                                     LEOFLOW_PARALLELISM="6", LEOFLOW_KUBERNETES_PENDING_TIMEOUT="6")
    # the API refuses the first pods: a quota (the try goes back to the queue), then errors worth a retry
    fake_k8s.fail_next("POST", r"/pods$", 403, message='pods "x" is forbidden: exceeded quota: compute, '
                                                       'requested: pods=1, used: pods=10, limited: pods=10')
    fake_k8s.fail_next("POST", r"/pods$", 500, count=2)
    fake_k8s.fail_next("POST", r"/pods$", 429, count=1, headers={"Retry-After": "1"})
    runs = {dag_id: trigger(replica, dag_id) for dag_id in ("etl", "failing", "pending", "fan")}
    wait_for(lambda: any(p["metadata"]["labels"].get("map_index") for p in fake_k8s.pods()), 60, "fan pods")
    expire_watch(fake_k8s)  # the executor's watch is now too old: 410 Gone, a new list, nothing lost
    finals = {dag_id: wait_run(engine, dag_id, run_id, 240) for dag_id, run_id in runs.items()}
    assert finals == {"etl": "success", "fan": "success", "failing": "failed", "pending": "failed"}

    # extract -> transform -> load, through XCom, each in its own pod
    with engine.connect() as conn:
        value = conn.execute(text("SELECT value FROM xcom WHERE dag_id = 'etl' AND task_id = 'load'")).scalar()
    assert str(value).strip('"') == "200"
    wait_log(replica, "etl", runs["etl"], "load", 1, "loaded 200")

    # the fan-out: 30 pods, never more than 6 at once
    fan = states(engine, "fan")
    assert len([k for k in fan if k[1] >= 0]) == 30 and set(fan.values()) == {("success", 1)}
    assert set(states(engine, "etl").values()) == {("success", 1)}  # the quota's refusal was no try
    assert "Pod watch expired (410 Gone)" in replica.output(10**7)
    assert fake_k8s.max_active <= 6, fake_k8s.max_active

    # a task that raises: two tries, two pods, each with its own log; a runner that dies: its exit code
    failing = states(engine, "failing")
    assert failing[("raises", -1)] == ("failed", 2) and failing[("crashes", -1)] == ("failed", 1)
    wait_log(replica, "failing", runs["failing"], "raises", 1, "this task always fails")
    wait_log(replica, "failing", runs["failing"], "raises", 2, "this task always fails")
    wait_log(replica, "failing", runs["failing"], "crashes", 1, "exit code 3")

    # a pod that never schedules fails past the pending timeout; an image that cannot be pulled at once
    pending = states(engine, "pending")
    assert pending[("never_scheduled", -1)][0] == "failed" and pending[("bad_image", -1)][0] == "failed"
    never = wait_log(replica, "pending", runs["pending"], "never_scheduled", 1, "Pending for more than 6s")
    assert "Unschedulable" in never, never
    wait_log(replica, "pending", runs["pending"], "bad_image", 1, "ErrImagePull")

    # the failed pod is kept for a look, built from the template (its label, its DAG folder mount)
    # (a pod whose try reported its end may still be sending its last log lines, and a container stopping)
    wait_for(lambda: [p["metadata"]["annotations"]["task_id"] for p in fake_k8s.pods("tasks")] == ["crashes"], 30,
             "only the failed pod kept")
    kept = fake_k8s.pods("tasks")
    assert kept[0]["metadata"]["labels"]["team"] == "data"
    assert {v["name"] for v in kept[0]["spec"]["volumes"]} == {"dags", "leoflow-workload"}
    names = fake_k8s.created_pods
    assert len(names) == 3 + 30 + 3 + 2
    assert_nothing_left(engine, fake_k8s)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("how", ["kill -9", "SIGTERM"])
def test_the_next_leader_adopts_the_pods_of_a_leader_that_died_or_stopped(k8s_cluster, fake_k8s, how):
    replicas, engine = k8s_cluster({"slow.py": SLOW}, n=2)
    run_id = trigger(replicas[0], "slow")

    def running_pods():
        return len([p for p in fake_k8s.pods() if p["status"]["phase"] == "Running"]) == 4

    wait_for(running_pods, 60, "four pods running")
    old = leader(engine, replicas)
    assert old is not None
    other = next(r for r in replicas if r is not old)
    # a running pod's log is read while it runs, and served by any replica
    wait_for(lambda: any("napping 1" in line for line in log_events(other, "slow", run_id, "nap", 1, map_index=1)),
             20, "the live log of a running pod")
    if how == "kill -9":
        old.kill9()
    else:  # a rolling update: the pods go on, nothing is failed on the way out
        assert old.stop() == 0
    new = wait_for(lambda: leader(engine, replicas) not in (None, old) and leader(engine, replicas), 20, "a new leader")
    assert wait_run(engine, "slow", run_id, 120) == "success"
    assert {s for s in states(engine, "slow").values()} == {("success", 1)}  # adopted, not retried
    assert "Adopting pod" in new.output(10**6)
    assert len(fake_k8s.created_pods) == 4
    # the adopted pods' logs reached the database: any replica serves them
    wait_log(new, "slow", run_id, "nap", 1, "Returned value", map_index=2)
    assert_nothing_left(engine, fake_k8s)


@pytest.mark.timeout(300)
def test_a_try_cleared_mid_run_ends_its_pod_and_runs_again(k8s_cluster, fake_k8s):
    (replica,), engine = k8s_cluster({"slow.py": SLOW})
    run_id = trigger(replica, "slow")
    wait_for(lambda: len([p for p in fake_k8s.pods() if p["status"]["phase"] == "Running"]) == 4, 60, "pods running")
    r = replica.api("POST", "/api/v2/dags/slow/clearTaskInstances",
                    json={"dry_run": False, "task_ids": [["nap", 1]], "dag_run_id": run_id, "only_failed": False,
                          "reset_dag_runs": False})
    assert r.status_code == 200, r.text
    assert wait_run(engine, "slow", run_id, 120) == "success", (states(engine, "slow"), [
        " ".join(log_events(replica, "slow", run_id, "nap", t, 1)) for t in (1, 2)])
    got = states(engine, "slow")
    assert got[("nap", 1)] == ("success", 2) and got[("nap", 0)] == ("success", 1)
    assert len(fake_k8s.created_pods) == 5  # the cleared try's pod ended; its new try has its own
    assert_nothing_left(engine, fake_k8s)


STUCK = '''
from airflow.sdk import dag, task


@dag(dag_id="stuck", schedule=None, catchup=False)
def stuck():
    @task(retries=0, executor_config={"pod_override": {"spec": {
        "nodeSelector": {"fake.leoflow.dev/unschedulable": "true"}}}})
    def waits_for_a_node():
        return 1

    waits_for_a_node()


stuck()
'''


@pytest.mark.timeout(200)
def test_a_try_marked_failed_in_the_ui_deletes_its_pod(k8s_cluster, fake_k8s):
    (replica,), engine = k8s_cluster({"stuck.py": STUCK})
    run_id = trigger(replica, "stuck")
    wait_for(lambda: fake_k8s.pods(), 60, "the pod exists")
    r = replica.api("PATCH", f"/api/v2/dags/stuck/dagRuns/{run_id}/taskInstances/waits_for_a_node",
                    json={"new_state": "failed"})
    assert r.status_code == 200, r.text
    wait_for(lambda: fake_k8s.pods() == [], 30, "its pod deleted")  # it never started: no runner to end itself
    assert wait_run(engine, "stuck", run_id, 60) == "failed"
    assert fake_k8s.secrets() == []
