"""The Kubernetes executor on its own against the fake API (no server): pod names, the pod spec merge,
API errors, and a watch that loses events."""

from __future__ import annotations

import json
import time

import pytest

from leoflow import config
from leoflow.executors.kubernetes import KubernetesExecutor, names, podspec

pytestmark = pytest.mark.kubernetes


@pytest.fixture(autouse=True)
def local_pods(fake_k8s):
    """These pods run shell commands as local processes whatever LEOFLOW_TEST_IMAGE says: the image is
    for the end-to-end tests' task pods."""
    fake_k8s.podman_image = None


def _workload(ti_id="0195b7a0-0000-7000-8000-000000000001", try_number=1, task_id="t", dag_id="d"):
    return {"type": "ExecuteTask", "token": "tok", "dag_rel_path": "d.py", "log_path": f"dag_id={dag_id}/x.log",
            "bundle_info": {"name": "dags-folder", "version": None},
            "ti": {"id": ti_id, "dag_id": dag_id, "task_id": task_id, "run_id": "manual__2026-01-01T00:00:00+00:00",
                   "try_number": try_number, "map_index": -1, "dag_version_id": None}}


def _wait(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("not in time")


@pytest.fixture
def make_executor(fake_k8s, tmp_path, monkeypatch):
    monkeypatch.setenv("LEOFLOW_CONFIG", str(tmp_path / "absent.toml"))
    made = []

    def make(command: str = "cat \"$0\" >/dev/null; echo '{\"event\": \"hello from the pod\"}'", **overrides):
        template = tmp_path / "template.json"
        template.write_text(json.dumps({"spec": {"containers": [{"name": "base", "command": [
            "sh", "-c", command, f"{names.WORKLOAD_MOUNT}/{names.WORKLOAD_FILE}"]}]}}))
        settings = config.load(home=tmp_path / "home", kubernetes_kubeconfig=str(fake_k8s.kubeconfig(tmp_path / "kc")),
                               kubernetes_namespace="tasks", kubernetes_image="leoflow:test",
                               kubernetes_pod_template_file=str(template), **overrides)
        executor = KubernetesExecutor(settings, 4)
        made.append(executor)
        return executor

    yield make
    for executor in made:
        executor.close()


def _log(executor, workload) -> str:
    from leoflow.runner.logfile import log_relative_path

    ti = workload["ti"]
    path = executor.settings.logs_folder / log_relative_path(ti["dag_id"], ti["run_id"], ti["task_id"],
                                                             ti["map_index"], ti["try_number"])
    return path.read_text()


def _exits(executor, count=1, timeout=20.0):
    got = []
    _wait(lambda: got.extend(executor.drain_exits()) or len(got) >= count, timeout)
    return got


def test_pod_names_are_deterministic_dns_names_and_labels_are_valid():
    ti = _workload(task_id="A Very_Long.task id " * 5)["ti"]
    name = names.pod_name(ti)
    assert name == names.pod_name(dict(ti)) and len(name) <= 63
    assert name != names.pod_name({**ti, "try_number": 2})
    assert all(c.isalnum() and c.islower() or c.isdigit() or c == "-" for c in name)
    for value in names.labels(ti, "my release").values():
        assert len(value) <= 63 and names._LABEL_VALUE.match(value), value
    assert names.annotations(ti)["task_id"] == ti["task_id"]  # the exact value


def test_pod_is_template_then_generated_then_pod_override():
    from kubernetes.client import models as k8s

    template = {"metadata": {"labels": {"team": "data"}}, "spec": {
        "serviceAccountName": "tasks", "containers": [{"name": "anything", "image": "base:1",
                                                       "env": [{"name": "A", "value": "template"}]},
                                                      {"name": "sidecar", "image": "side:1"}],
        "volumes": [{"name": "dags", "persistentVolumeClaim": {"claimName": "dags"}}]}}
    override = k8s.V1Pod(metadata=k8s.V1ObjectMeta(labels={"extra": "yes", "dag_id": "forged"}),
                         spec=k8s.V1PodSpec(containers=[k8s.V1Container(
                             name="base", image="custom:2", env=[k8s.V1EnvVar(name="A", value="override")],
                             resources=k8s.V1ResourceRequirements(limits={"memory": "1Gi"}))]))
    pod = podspec.build_pod(_workload(), template=podspec.to_api_json(template),
                            executor_config={"pod_override": override}, namespace="tasks", image="",
                            release="r", api_url="http://x/execution", dags_folder="/dags", heartbeat_interval=5)
    base, sidecar = pod["spec"]["containers"]
    assert base["name"] == "base" and base["image"] == "custom:2" and sidecar["name"] == "sidecar"
    env = {e["name"]: e["value"] for e in base["env"]}
    assert env["A"] == "override" and env["LEOFLOW_EXECUTION_API_URL"] == "http://x/execution"
    assert base["resources"]["limits"]["memory"] == "1Gi" and base["args"][0] == "execute-workload"
    assert {v["name"] for v in pod["spec"]["volumes"]} == {"dags", "leoflow-workload"}
    assert pod["spec"]["serviceAccountName"] == "tasks" and pod["spec"]["restartPolicy"] == "Never"
    labels = pod["metadata"]["labels"]
    assert labels["team"] == "data" and labels["extra"] == "yes" and labels["dag_id"] == "d"  # ids stay Leoflow's
    assert all("token" not in json.dumps(c) for c in pod["spec"]["containers"])  # the workload is only in the Secret
    with pytest.raises(podspec.PodSpecError, match="no image"):
        podspec.build_pod(_workload(), template=None, executor_config=None, namespace="t", image="", release="r",
                          api_url="u", dags_folder="/d", heartbeat_interval=5)


def test_task_pods_service_account_and_api_token_by_setting_unless_the_template_says(make_executor, fake_k8s,
                                                                                     tmp_path):
    executor = make_executor(kubernetes_service_account="etl-tasks")
    executor.submit(_workload())
    assert _exits(executor)[0]["exit_code"] == 0
    spec = executor._pod_for(_workload())["spec"]
    assert spec["serviceAccountName"] == "etl-tasks" and spec["automountServiceAccountToken"] is False
    # the namespace's default account when none is set; a template (or pod_override) has the last word
    default = make_executor()._pod_for(_workload())["spec"]
    assert "serviceAccountName" not in default and default["automountServiceAccountToken"] is False
    template = {"spec": {"serviceAccountName": "from-template", "automountServiceAccountToken": True,
                         "containers": [{"name": "base"}]}}
    pod = podspec.build_pod(_workload(), template=template, executor_config=None, defaults=podspec.default_pod(
        service_account="etl-tasks"), namespace="t", image="i", release="r", api_url="u", dags_folder="/d",
        heartbeat_interval=5)
    assert pod["spec"]["serviceAccountName"] == "from-template" and pod["spec"]["automountServiceAccountToken"]
    asked = make_executor(kubernetes_automount_service_account_token=True)._pod_for(_workload())["spec"]
    assert asked["automountServiceAccountToken"] is True
    # Airflow's task runner in the pod: the setting and its interpreter reach the task container
    airflow = make_executor(task_runner="airflow", airflow_python="/opt/airflow/bin/python")._pod_for(_workload())
    env = {e["name"]: e.get("value") for e in airflow["spec"]["containers"][0]["env"]}
    assert env["LEOFLOW_TASK_RUNNER"] == "airflow" and env["LEOFLOW_AIRFLOW_PYTHON"] == "/opt/airflow/bin/python"


def test_a_try_runs_once_in_its_pod_whose_secret_holds_the_workload(make_executor, fake_k8s):
    executor = make_executor()
    workload = _workload()
    executor.submit(workload, attempt="a1")
    executor.submit(workload, attempt="a2")  # queued again: the same pod
    exit_, = _exits(executor)
    assert exit_["exit_code"] == 0 and exit_["reason"] is None and exit_["attempt"] == "a2"
    assert fake_k8s.created_pods == [names.pod_name(workload["ti"])]
    log = _log(executor, workload)
    assert "hello from the pod" in log  # the pod's log became the try's log
    _wait(lambda: fake_k8s.pods() == [] and fake_k8s.secrets() == [])  # deleted, with its Secret


def test_api_errors_are_retried_requeued_or_fail_the_try_with_the_message(make_executor, fake_k8s):
    executor = make_executor()
    fake_k8s.fail_next("POST", r"/pods$", 500, count=2)
    fake_k8s.fail_next("POST", r"/pods$", 429, count=1)
    executor.submit(_workload(try_number=1))
    assert _exits(executor)[0]["exit_code"] == 0  # retried through 500, 500, 429
    fake_k8s.fail_next("POST", r"/pods$", 403, message='pods "x" is forbidden: exceeded quota: compute, requested: pods=1')
    executor.submit(_workload(try_number=2))
    quota = _exits(executor)[0]
    assert quota["requeue"] is True and "exceeded quota" in quota["reason"] and executor.free_slots() == 0
    fake_k8s.fail_next("POST", r"/pods$", 422, message="spec.containers[0].image: Required value")
    executor._quota_until = 0
    executor.submit(_workload(try_number=3))
    refused = _exits(executor)[0]
    assert not refused["requeue"] and "422" in refused["reason"] and "Required value" in refused["reason"]
    assert len(fake_k8s.created_pods) == 1


def test_failed_pods_are_kept_and_say_their_exit_code(make_executor, fake_k8s):
    executor = make_executor(command="echo '{\"event\": \"about to fail\"}'; exit 7")
    workload = _workload()
    executor.submit(workload)
    exit_, = _exits(executor)
    assert exit_["exit_code"] == 7 and "exit code 7 (Error)" in exit_["reason"]
    log = _log(executor, workload)
    assert "about to fail" in log and "exit code 7" in log
    kept = fake_k8s.pods()
    assert len(kept) == 1 and kept[0]["status"]["phase"] == "Failed"  # kept (LEOFLOW_KUBERNETES_DELETE_ON_FAILURE)
    time.sleep(1.5)  # a relist later, the same leader has not taken it up again
    executor._relist()
    assert executor.running() == [] and executor.drain_exits() == []


def test_a_watch_that_loses_its_window_or_an_event_still_reports_every_exit(make_executor, fake_k8s):
    executor = make_executor(command="sleep 1.5", kubernetes_relist_interval=1.0)
    executor.submit(_workload(try_number=1))
    _wait(lambda: any(p["status"]["phase"] == "Running" for p in fake_k8s.pods()))
    fake_k8s.compact()  # the watch's version is now too old: 410, a new list
    assert _exits(executor)[0]["exit_code"] == 0

    executor.submit(_workload(try_number=2))
    _wait(lambda: any(p["status"]["phase"] == "Running" for p in fake_k8s.pods()))
    events_before = len(fake_k8s.events)
    with fake_k8s._lock:  # the pod vanishes and its DELETED event is lost: only the relist can tell
        key = next(k for k in fake_k8s.objects if k[0] == "Pod")
        fake_k8s._procs[fake_k8s.objects[key]["metadata"]["uid"]].kill()
        del fake_k8s.objects[key]
        del fake_k8s.events[events_before:]
    gone = _exits(executor)[0]
    assert "deleted" in gone["reason"] or "failed" in gone["reason"]


def test_kill_deletes_the_pod_and_reports_the_reason(make_executor, fake_k8s):
    executor = make_executor(command="sleep 60")
    workload = _workload()
    executor.submit(workload)
    _wait(lambda: any(p["status"]["phase"] == "Running" for p in fake_k8s.pods()))
    assert executor.kill(workload["ti"]["id"], 1, reason="no heartbeat from its runner (zombie)")
    assert not executor.kill(workload["ti"]["id"], 2)  # not a try it holds
    exit_, = _exits(executor)
    assert exit_["reason"] == "no heartbeat from its runner (zombie)"
    _wait(lambda: fake_k8s.pods() == [])


def test_a_try_handed_out_again_after_its_pod_finished_gets_a_new_pod(make_executor, fake_k8s):
    """A rescheduled sensor or a resumed deferral runs the same try again: the earlier run's pod (kept
    here) is replaced, and its deletion is not taken for the new run's end."""
    executor = make_executor(kubernetes_delete_pods=False)
    workload = _workload()
    executor.submit(workload, attempt="2026-01-01T00:00:00")
    assert _exits(executor)[0]["exit_code"] == 0
    first = fake_k8s.pods()[0]["metadata"]["uid"]
    executor.submit(workload, attempt="2026-01-01T00:05:00")
    second, = _exits(executor)
    assert second["exit_code"] == 0 and second["attempt"] == "2026-01-01T00:05:00" and second["reason"] is None
    pods = fake_k8s.pods()
    assert len(pods) == 1 and pods[0]["metadata"]["uid"] != first
    assert pods[0]["metadata"]["annotations"]["leoflow.dev/attempt"] == "2026-01-01T00:05:00"


def test_a_task_may_bring_its_own_pod_template(make_executor, tmp_path):
    executor = make_executor()
    own = tmp_path / "gpu-template.yaml"
    own.write_text("spec:\n  nodeSelector: {gpu: 'true'}\n  containers:\n    - name: base\n      image: gpu:1\n")
    workload = _workload()
    executor._configs[(None, "t")] = {"pod_template_file": str(own)}  # as the serialized task's executor_config
    pod = executor._pod_for(workload)
    assert pod["spec"]["nodeSelector"] == {"gpu": "true"}
    assert pod["spec"]["containers"][0]["image"] == "leoflow:test"  # LEOFLOW_KUBERNETES_IMAGE over the template's
    executor._configs[(None, "t")] = {"pod_template_file": str(tmp_path / "missing.yaml")}
    with pytest.raises(podspec.PodSpecError, match="cannot read"):
        executor._pod_for(workload)


def test_an_api_that_stays_away_shows_in_health_and_is_watched_again_when_back(make_executor, fake_k8s):
    executor = make_executor()
    problems = executor._problems = {}
    _wait(lambda: executor._leading)
    fake_k8s.fail_next("GET", r"/pods$", 503, count=10**6, message="the API server is restarting")
    fake_k8s.compact()  # the open watch ends (410); every list and watch now fails
    _wait(lambda: "503" in problems.get("scheduler", ""), timeout=30)
    assert problems["scheduler"].startswith("Kubernetes executor: cannot watch pods in namespace tasks")
    fake_k8s.faults.clear()
    _wait(lambda: "scheduler" not in problems, timeout=30)
    executor.submit(_workload())
    assert _exits(executor)[0]["exit_code"] == 0


def test_the_execution_api_url_may_be_a_servers_base_url():
    from leoflow.executors.kubernetes.executor import execution_api_url

    assert execution_api_url("http://leoflow.ns.svc:8080") == "http://leoflow.ns.svc:8080/execution"
    assert execution_api_url("http://leoflow.ns.svc:8080/execution/") == "http://leoflow.ns.svc:8080/execution"
    assert execution_api_url("") == ""
