"""`leoflow execute-workload --file PATH` (hidden): run one ExecuteTask workload in the foreground with
Leoflow's runner and exit with its code. A Kubernetes task pod runs this (executors/kubernetes/).

The workload file is the mounted Secret; where things are comes from the environment the executor
gives the pod: LEOFLOW_EXECUTION_API_URL, LEOFLOW_DAGS_FOLDER, LEOFLOW_TASK_HEARTBEAT_INTERVAL. The
try's log is written to a file as everywhere and copied, line by line while the task runs, to this
process's standard output: the pod's log, which the executor reads into the try's log.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

MAX_WORKLOAD_BYTES = 1024 * 1024


def _fail(message: str) -> int:
    print(f"leoflow execute-workload: {message}", file=sys.stderr)
    return 2


def read_workload(path: str) -> dict:
    """The ExecuteTask document of `path`; ValueError naming what is wrong."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_WORKLOAD_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_WORKLOAD_BYTES:
        raise ValueError(f"{path} is larger than {MAX_WORKLOAD_BYTES} bytes")
    try:
        workload = json.loads(data)
    except ValueError:
        raise ValueError(f"{path} is not JSON") from None
    if not isinstance(workload, dict) or workload.get("type") != "ExecuteTask":
        raise ValueError(f"{path} is not an ExecuteTask workload")
    ti = workload.get("ti")
    for key, kind in (("token", str), ("dag_rel_path", str), ("log_path", str), ("ti", dict)):
        if not isinstance(workload.get(key), kind):
            raise ValueError(f"the workload's {key!r} is missing or not a {kind.__name__}")
    for key in ("id", "dag_id", "run_id", "task_id"):
        if not isinstance(ti.get(key), str):
            raise ValueError(f"the workload's ti.{key} is missing")
    if not isinstance(ti.get("try_number"), int):
        raise ValueError("the workload's ti.try_number is missing")
    return workload


def dag_file(dags_folder: str, rel: str) -> str:
    """The DAG file in this pod's DAG folder; a relative path may not leave it."""
    folder = os.path.abspath(dags_folder)
    if os.path.isabs(rel):
        return rel
    path = os.path.normpath(os.path.join(folder, rel))
    if os.path.commonpath([folder, path]) != folder:
        raise ValueError(f"dag_rel_path {rel!r} leaves the DAG folder")
    return path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="leoflow execute-workload")
    parser.add_argument("--file", required=True, help="the ExecuteTask workload (JSON)")
    parser.add_argument("--api-url", default=os.environ.get("LEOFLOW_EXECUTION_API_URL", ""))
    parser.add_argument("--dags-folder", default=os.environ.get("LEOFLOW_DAGS_FOLDER", ""))
    args = parser.parse_args(argv)
    try:
        workload = read_workload(args.file)
        if not args.api_url:
            raise ValueError("no Execution API URL (LEOFLOW_EXECUTION_API_URL or --api-url)")
        if not args.dags_folder:
            raise ValueError("no DAG folder (LEOFLOW_DAGS_FOLDER or --dags-folder)")
        fileloc = dag_file(args.dags_folder, workload["dag_rel_path"])
        interval = float(os.environ.get("LEOFLOW_TASK_HEARTBEAT_INTERVAL") or 5.0)
    except ValueError as exc:
        return _fail(str(exc))
    logs = Path(os.environ.get("LEOFLOW_LOGS_FOLDER") or tempfile.mkdtemp(prefix="leoflow-logs-"))
    job = {"workload": workload, "fileloc": fileloc, "logs_folder": str(logs), "api_url": args.api_url,
           "heartbeat_interval": interval}
    from ..executors.log_shipping import LogShipper
    from ..runner.logfile import UnsafeLogPath, resolve_log_path
    from ..runner.run import run_workload

    try:
        log_path = resolve_log_path(logs, workload["log_path"])
    except UnsafeLogPath as exc:
        return _fail(str(exc))
    stdout = os.dup(1)  # the pod's log: the runner points fds 1 and 2 at the try's log file

    def to_stdout(_key, _seq, lines: str) -> None:
        data = lines.encode()
        while data:
            data = data[os.write(stdout, data):]

    tee = LogShipper(to_stdout, interval=0.5)
    tee.follow(("task",), log_path)
    try:
        code = run_workload(job)
    finally:
        tee.finished(("task",))
        tee.stop()
    return code
