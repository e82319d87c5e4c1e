"""A try's pod: the pod template file, then the pod Leoflow generates, then the task's
`executor_config["pod_override"]`, each merged onto the one before as Airflow documents it.

Merging: mappings merge key by key (the later wins for a value); lists of named items (containers,
volumes, env, volumeMounts, ports...) merge item by item by name, new names appended; other lists are
replaced. The task's container is the one named `base` (a template's first container counts as it).
Every document here is the API's JSON form (camelCase), as `kubectl get -o json` shows it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

from . import names


class PodSpecError(ValueError):
    """A pod template or override that cannot be used; the message says which and why."""


def load_template(path: str) -> dict:
    """A pod template file (YAML or JSON) as a pod document."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise PodSpecError(f"cannot read the pod template file {path}: {exc.strerror}") from None
    try:
        doc = json.loads(text)
    except ValueError:
        try:
            import yaml
        except ImportError:
            raise PodSpecError(f"the pod template file {path} is not JSON (YAML needs PyYAML)") from None
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise PodSpecError(f"the pod template file {path} is not valid YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise PodSpecError(f"the pod template file {path} does not hold a pod")
    return to_api_json(doc)


def to_api_json(obj) -> dict:
    """A pod as JSON: a `kubernetes.client.V1Pod` (a pod_override) through the client's own serializer,
    a mapping as it is (snake_case keys of a hand-written dict are not guessed at)."""
    if isinstance(obj, dict):
        return copy.deepcopy(obj)
    if hasattr(obj, "to_dict") and hasattr(obj, "openapi_types"):
        from kubernetes.client import ApiClient

        return ApiClient().sanitize_for_serialization(obj)
    raise PodSpecError(f"a pod must be a kubernetes.client.V1Pod or a mapping, not {type(obj).__name__}")


def _merge(base, override):
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base[key], value) if key in base and value is not None else value
            if value is None and key in base:
                merged[key] = base[key]
        return merged
    if isinstance(base, list) and isinstance(override, list) and _named(base) and _named(override):
        merged = list(base)
        index = {item["name"]: i for i, item in enumerate(merged)}
        for item in override:
            if item["name"] in index:
                merged[index[item["name"]]] = _merge(merged[index[item["name"]]], item)
            else:
                index[item["name"]] = len(merged)
                merged.append(item)
        return merged
    return copy.deepcopy(override)


def _named(items: list) -> bool:
    return all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items)


def _base_named(pod: dict) -> dict:
    """A template whose first container has no name (or another one, and no `base`): that one is `base`."""
    pod = copy.deepcopy(pod)
    containers = (pod.get("spec") or {}).get("containers") or []
    if containers and not any(c.get("name") == names.CONTAINER for c in containers):
        containers[0]["name"] = names.CONTAINER
    return pod


def default_pod(*, service_account: str = "", automount_token: bool = False, task_runner: str = "leoflow",
                airflow_python: str = "") -> dict:
    """What every try's pod gets unless its template or pod_override says otherwise: the service account
    (LEOFLOW_KUBERNETES_SERVICE_ACCOUNT; none: the namespace's default), no API token mounted (a task
    needs none to speak /execution), the task runner (LEOFLOW_TASK_RUNNER, LEOFLOW_AIRFLOW_PYTHON)."""
    spec: dict = {"automountServiceAccountToken": bool(automount_token)}
    if service_account:
        spec["serviceAccountName"] = service_account
    env = []
    if task_runner != "leoflow":
        env.append({"name": "LEOFLOW_TASK_RUNNER", "value": task_runner})
        if airflow_python:
            env.append({"name": "LEOFLOW_AIRFLOW_PYTHON", "value": airflow_python})
    if env:
        spec["containers"] = [{"name": names.CONTAINER, "env": env}]
    return {"spec": spec}


def generated_pod(workload: dict, *, namespace: str, image: str, release: str, api_url: str,
                  dags_folder: str, heartbeat_interval: float, dags: str = "mounted",
                  ship_logs: bool = False) -> dict:
    """What Leoflow itself puts in every try's pod."""
    ti = workload["ti"]
    pod = names.pod_name(ti)
    env = [{"name": "LEOFLOW_EXECUTION_API_URL", "value": api_url},
           {"name": "LEOFLOW_DAGS_FOLDER", "value": dags_folder},
           {"name": "LEOFLOW_KUBERNETES_DAGS", "value": dags},
           {"name": "LEOFLOW_TASK_HEARTBEAT_INTERVAL", "value": f"{heartbeat_interval:g}"}]
    if ship_logs:
        env.append({"name": "LEOFLOW_SHIP_LOGS", "value": "1"})
    container = {
        "name": names.CONTAINER,
        # no `command`: the image's entrypoint is `leoflow`
        "args": ["execute-workload", "--file", f"{names.WORKLOAD_MOUNT}/{names.WORKLOAD_FILE}"],
        "env": env,
        "volumeMounts": [{"name": "leoflow-workload", "mountPath": names.WORKLOAD_MOUNT, "readOnly": True}],
    }
    if image:
        container["image"] = image
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": pod, "namespace": namespace, "labels": names.labels(ti, release),
                     "annotations": names.annotations(ti)},
        "spec": {
            "restartPolicy": "Never",  # a try runs once; a retry is a new try, a new pod
            "containers": [container],
            "volumes": [{"name": "leoflow-workload",
                         # readable by the image's non-root user whatever its uid (files are root's)
                         "secret": {"secretName": names.secret_name(pod), "defaultMode": 0o444}}],
        },
    }


def build_pod(workload: dict, *, template: dict | None, executor_config: dict | None, defaults: dict | None = None,
              **generated) -> dict:
    """The try's pod: defaults + template + generated + pod_override. Its name, namespace, identifying labels
    and workload volume always stay Leoflow's: an override cannot make two tries share a pod."""
    config = executor_config or {}
    if not isinstance(config, dict):
        raise PodSpecError("executor_config must be a mapping")
    own = generated_pod(workload, **generated)
    pod = _merge(defaults or {}, _base_named(template) if template else {})
    pod = _merge(pod, own)
    override = config.get("pod_override")
    if override is not None:
        pod = _merge(pod, _base_named(to_api_json(override)))
    meta = pod.setdefault("metadata", {})
    meta["name"], meta["namespace"] = own["metadata"]["name"], own["metadata"]["namespace"]
    meta.setdefault("labels", {}).update(own["metadata"]["labels"])
    meta.setdefault("annotations", {}).update(own["metadata"]["annotations"])
    spec = pod.setdefault("spec", {})
    spec["restartPolicy"] = "Never"
    base = next((c for c in spec.get("containers") or [] if c.get("name") == names.CONTAINER), None)
    if base is None:
        raise PodSpecError("the pod has no container named 'base'")
    if not base.get("image"):
        raise PodSpecError("no image for the task's container: set LEOFLOW_KUBERNETES_IMAGE or the pod "
                           "template's image")
    return pod
