"""What identifies a try's pod: its deterministic name, its labels (selectable) and annotations (exact).

One name per (task instance, try): creating it again is a 409 from the API, never a second pod. Label
values must be at most 63 characters of [A-Za-z0-9_.-]; ids that are longer or hold other characters
are shortened with a hash (their exact values are in the annotations).
"""

from __future__ import annotations

import hashlib
import re

GROUP = "leoflow.dev"
# Airflow's own label keys, so selectors written for Airflow's pods find ours too.
DAG, TASK, RUN, TRY, MAP = "dag_id", "task_id", "run_id", "try_number", "map_index"
TI_ID = f"{GROUP}/ti-id"
RELEASE = "app.kubernetes.io/instance"
MANAGED_BY = "app.kubernetes.io/managed-by"
EXECUTOR = "kubernetes_executor"
ATTEMPT = f"{GROUP}/attempt"  # which hand-over of the try (a rescheduled sensor runs one try again)
CONTAINER = "base"  # the task's container, as Airflow names it (pod_override targets it by name)
WORKLOAD_FILE = "workload.json"
WORKLOAD_MOUNT = "/var/run/leoflow/workload"

_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _digest(*parts) -> str:
    return hashlib.sha256("\x00".join(map(str, parts)).encode()).hexdigest()


def label_value(value) -> str:
    """`value` as a valid label value: itself when it is one, else a cleaned prefix and a hash of it."""
    text = str(value)
    if len(text) <= 63 and _LABEL_VALUE.match(text):
        return text
    clean = re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:50].strip("_.-")
    return f"{clean}-{_digest(text)[:10]}".lstrip("_.-") if clean else _digest(text)[:20]


def pod_name(ti: dict) -> str:
    """`<dag>-<task>-<hash of ti id and try>`: DNS-1123, at most 63 characters (it is also the hostname)."""
    readable = re.sub(r"[^a-z0-9]+", "-", f"{ti['dag_id']}-{ti['task_id']}".lower()).strip("-")[:45].strip("-")
    suffix = _digest(ti["id"], ti["try_number"])[:12]
    return f"{readable}-{suffix}" if readable else f"task-{suffix}"


def secret_name(pod: str) -> str:
    return f"{pod}-workload"


def labels(ti: dict, release: str) -> dict[str, str]:
    found = {DAG: label_value(ti["dag_id"]), TASK: label_value(ti["task_id"]), RUN: label_value(ti["run_id"]),
             TRY: str(ti["try_number"]), TI_ID: label_value(ti["id"]), RELEASE: label_value(release),
             MANAGED_BY: "leoflow", EXECUTOR: "True"}
    if ti.get("map_index", -1) >= 0:  # as Airflow: only a mapped try has one ("-1" is no label value)
        found[MAP] = str(ti["map_index"])
    return found


def annotations(ti: dict) -> dict[str, str]:
    return {DAG: ti["dag_id"], TASK: ti["task_id"], RUN: ti["run_id"], TRY: str(ti["try_number"]),
            MAP: str(ti.get("map_index", -1)), TI_ID: ti["id"]}


def selector(release: str) -> str:
    """The pods of this release's tries."""
    return f"{MANAGED_BY}=leoflow,{RELEASE}={label_value(release)}"


def try_of(meta: dict) -> tuple[str, int] | None:
    """(ti id, try number) of a pod from its annotations; None for a pod that is not a try's."""
    notes = meta.get("annotations") or {}
    try:
        return notes[TI_ID], int(notes[TRY])
    except (KeyError, TypeError, ValueError):
        return None
