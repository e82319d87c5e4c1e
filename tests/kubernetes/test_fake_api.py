"""The fake Kubernetes API itself, through the official client: what the executor's tests rely on."""

from __future__ import annotations

import json
import threading
import time

import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from leoflow.executors.kubernetes.pods import Pods

pytestmark = pytest.mark.kubernetes


@pytest.fixture(autouse=True)
def local_pods(fake_k8s):
    """These pods run shell commands as local processes whatever LEOFLOW_TEST_IMAGE says: the image is
    for the end-to-end tests' task pods."""
    fake_k8s.podman_image = None


@pytest.fixture
def core(fake_k8s, tmp_path):
    return client.CoreV1Api(config.new_client_from_config(config_file=str(fake_k8s.kubeconfig(tmp_path / "kc"))))


def _pod(name, command="exit 0", labels=None, grace=None):
    spec = {"restartPolicy": "Never", "containers": [{"name": "base", "image": "x", "command": ["sh", "-c", command]}]}
    if grace is not None:
        spec["terminationGracePeriodSeconds"] = grace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels or {}}, "spec": spec}


def _raw(response):
    return json.loads(response.data)


def test_versions_uids_duplicates_and_selectors(core, fake_k8s):
    first = _raw(core.create_namespaced_pod("tasks", _pod("a", labels={"app": "x", "tier": "1"}), _preload_content=False))
    second = _raw(core.create_namespaced_pod("tasks", _pod("b", labels={"app": "y"}), _preload_content=False))
    assert int(second["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    assert first["metadata"]["uid"] != second["metadata"]["uid"]
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod("tasks", _pod("a"))
    assert err.value.status == 409 and "already exists" in err.value.body
    listed = lambda sel: sorted(p["metadata"]["name"] for p in _raw(core.list_namespaced_pod(  # noqa: E731
        "tasks", label_selector=sel, _preload_content=False))["items"])
    assert listed("app=x") == ["a"] and listed("app!=x") == ["b"] and listed("tier") == ["a"]
    assert listed("!tier") == ["b"] and listed("app in (x,y)") == ["a", "b"] and listed("app notin (x)") == ["b"]
    assert _raw(core.list_namespaced_pod("other", _preload_content=False))["items"] == []


def test_watch_bookmarks_and_410_past_the_window(core, fake_k8s):
    pods = Pods(core, "tasks")
    _, version = pods.list("")
    core.create_namespaced_pod("tasks", _pod("w", "echo out; exit 3"), _preload_content=False)
    events = list(pods.watch("", version, 3))
    kinds = [e["type"] for e in events]
    assert kinds[0] == "ADDED" and "BOOKMARK" in kinds
    phases = [e["object"]["status"]["phase"] for e in events if e["type"] == "MODIFIED"]
    assert phases[-1] == "Failed" and "Running" in phases
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions)
    failed = next(e["object"] for e in events if e["type"] == "MODIFIED" and e["object"]["status"]["phase"] == "Failed")
    assert failed["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3
    assert pods.log("w") == b"out\n"
    fake_k8s.compact()
    with pytest.raises(ApiException) as err:
        list(pods.watch("", version, 2))
    assert err.value.status == 410


def test_deletes_graceful_and_immediate_and_owned_secrets_go_with_their_pod(core, fake_k8s):
    pods = Pods(core, "tasks")
    running = pods.create(_pod("slow", "sleep 30", grace=1))
    pending = pods.create({**_pod("stuck"), "spec": {**_pod("stuck")["spec"],
                                                     "nodeSelector": {"fake.leoflow.dev/unschedulable": "true"}}})
    pods.create_workload_secret(running, {"type": "ExecuteTask"})
    assert len(fake_k8s.secrets("tasks")) == 1
    deadline = time.monotonic() + 10
    while pods.get("slow")["status"]["phase"] != "Running" and time.monotonic() < deadline:
        time.sleep(0.05)
    _, version = pods.list("")
    events = []
    watcher = threading.Thread(target=lambda: events.extend(pods.watch("", version, 4)))
    watcher.start()
    pods.delete("slow")  # the pod's grace period: MODIFIED with deletionTimestamp, then DELETED
    pods.delete("stuck")  # nothing runs: DELETED at once
    watcher.join()
    slow = [e for e in events if e["object"]["metadata"].get("name") == "slow"]
    assert slow[0]["type"] == "MODIFIED" and slow[0]["object"]["metadata"]["deletionTimestamp"]
    assert slow[-1]["type"] == "DELETED"
    stuck = [e for e in events if e["object"]["metadata"].get("name") == "stuck"]
    assert [e["type"] for e in stuck] == ["DELETED"] and "deletionTimestamp" not in stuck[0]["object"]["metadata"]
    assert pending["status"]["phase"] == "Pending"
    assert fake_k8s.secrets("tasks") == [] and fake_k8s.pods("tasks") == []


def test_injected_failures_and_metadata_only_lists(core, fake_k8s):
    fake_k8s.fail_next("POST", r"/pods$", 429, headers={"Retry-After": "1"})
    with pytest.raises(ApiException) as err:
        core.create_namespaced_pod("tasks", _pod("f"))
    assert err.value.status == 429 and err.value.headers["Retry-After"] == "1"
    fake_k8s.fail_next("GET", r"/pods$", 500)
    with pytest.raises(ApiException) as err:
        core.list_namespaced_pod("tasks")
    assert err.value.status == 500
    core.create_namespaced_pod("tasks", _pod("f"), _preload_content=False)  # the next one goes through
    metas = Pods(core, "tasks").list_metadata("")
    assert [m["name"] for m in metas] == ["f"] and "spec" not in metas[0]
