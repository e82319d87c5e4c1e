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
import signal
import sys
import tempfile
import time
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


def pod_home() -> Path:
    """The pod's home (the image's LEOFLOW_HOME): where fetched DAG bundles are cached by hash."""
    home = os.environ.get("LEOFLOW_HOME")
    if not home:
        import platformdirs

        home = platformdirs.user_data_dir("leoflow")
    return Path(home).expanduser().absolute()


def bundle_folder(client, version: str, cache: Path) -> Path:
    """The DAG bundle `version` (its sha256) extracted in `cache`: fetched from /execution once per hash."""
    from ..agents import bundles

    if not bundles.SHA256.match(version):
        raise ValueError(f"the workload's bundle_info.version {version[:80]!r} is not a DAG bundle's sha256")
    folder = bundles.cached(cache, version)
    if folder is not None:
        return folder
    from ..runner.client import ApiError

    try:
        resp, data = client.request("GET", f"/leoflow/bundles/{version}", raw=True)
    except (OSError, ApiError) as exc:
        raise ValueError(f"could not fetch DAG bundle {version} from the server: {exc}") from None
    if resp.status != 200:
        raise ValueError(f"the server did not send DAG bundle {version}: HTTP {resp.status} "
                         f"{data[:300].decode('utf-8', 'replace')}")
    return bundles.extract(data, version, cache)


def log_sink(client, ti_id: str, token: str):
    """The try's log lines to the server (the database): the pod's log may be gone before anyone reads it.
    Chunks go on from where the try's shipped log ends (a rescheduled sensor's earlier pods wrote some)."""
    # the workload's token (valid 24 h) every time: an execution token would expire over 10 quiet minutes
    client.token = token
    first = client.request("GET", f"/leoflow/logs/{ti_id}")["next_seq"]

    def sink(_key, seq: int, lines: str) -> None:
        client.token = token
        client.request("POST", f"/leoflow/logs/{ti_id}", {"seq": first + seq, "lines": lines})

    return sink


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="leoflow execute-workload")
    parser.add_argument("--file", required=True, help="the ExecuteTask workload (JSON)")
    parser.add_argument("--api-url", default=os.environ.get("LEOFLOW_EXECUTION_API_URL", ""))
    parser.add_argument("--dags-folder", default=os.environ.get("LEOFLOW_DAGS_FOLDER", ""))
    args = parser.parse_args(argv)
    dags = os.environ.get("LEOFLOW_KUBERNETES_DAGS") or "mounted"
    runner = os.environ.get("LEOFLOW_TASK_RUNNER") or "leoflow"
    ship = (os.environ.get("LEOFLOW_SHIP_LOGS") or "").lower() in ("1", "true", "yes")
    client = None
    try:
        workload = read_workload(args.file)
        if not args.api_url:
            raise ValueError("no Execution API URL (LEOFLOW_EXECUTION_API_URL or --api-url)")
        if dags not in ("bundle", "mounted"):
            raise ValueError(f"LEOFLOW_KUBERNETES_DAGS must be bundle or mounted, got {dags!r}")
        if runner not in ("leoflow", "airflow"):
            raise ValueError(f"LEOFLOW_TASK_RUNNER must be leoflow or airflow, got {runner!r}")
        version = (workload.get("bundle_info") or {}).get("version") if isinstance(workload.get("bundle_info"),
                                                                                    dict) else None
        if version is not None and not isinstance(version, str):
            raise ValueError("the workload's bundle_info.version is not a string")
        from ..runner.client import ExecutionClient

        client = ExecutionClient(args.api_url, workload["token"],
                                 ca_file=os.environ.get("LEOFLOW_EXECUTION_API_CA_FILE") or None)
        if dags == "bundle" and version:
            folder = str(bundle_folder(client, version, pod_home() / "bundles"))
        elif args.dags_folder:
            folder = args.dags_folder
        else:
            raise ValueError("no DAG folder (LEOFLOW_DAGS_FOLDER or --dags-folder)")
        fileloc = dag_file(folder, workload["dag_rel_path"])
        interval = float(os.environ.get("LEOFLOW_TASK_HEARTBEAT_INTERVAL") or 5.0)
    except ValueError as exc:
        return _fail(str(exc))
    logs = Path(os.environ.get("LEOFLOW_LOGS_FOLDER") or tempfile.mkdtemp(prefix="leoflow-logs-"))
    job = {"workload": workload, "fileloc": fileloc, "logs_folder": str(logs), "api_url": args.api_url,
           "api_ca_file": os.environ.get("LEOFLOW_EXECUTION_API_CA_FILE") or None,
           "heartbeat_interval": interval}
    from ..executors.log_shipping import LogShipper
    from ..runner.logfile import UnsafeLogPath, resolve_log_path

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
    shipper = None
    if ship:
        try:
            shipper = LogShipper(log_sink(client, workload["ti"]["id"], workload["token"]), interval=1.0)
            shipper.follow(("task",), log_path)
        except Exception as exc:  # noqa: BLE001 - the server is away: the pod's own log still has it
            print(f"leoflow execute-workload: cannot ship the log to the server: {exc}", file=sys.stderr)
    try:
        if runner == "airflow":
            code = run_with_airflow(workload, folder, logs, args.api_url)
        else:
            from ..runner.run import run_workload

            code = run_workload(job)
    finally:
        tee.finished(("task",))
        if shipper is not None:
            shipper.finished(("task",))
            shipper.stop()
            for _ in range(10):  # what the last round could not send (the server restarting)
                if not shipper.pending():
                    break
                time.sleep(1.0)
                shipper.flush()
        tee.stop()
    return code


def run_with_airflow(workload: dict, dags_folder: str, logs: Path, api_url: str) -> int:
    """The try with Airflow's own task runner (LEOFLOW_TASK_RUNNER=airflow, ADR 20), in the interpreter
    LEOFLOW_AIRFLOW_PYTHON names inside the pod; the exit code of Airflow's supervisor."""
    import queue
    from types import SimpleNamespace

    from ..runner.airflow_runner import AirflowRunnerError, AirflowTaskRunner

    api = api_url.rstrip("/")
    settings = SimpleNamespace(home=pod_home(), airflow_python=os.environ.get("LEOFLOW_AIRFLOW_PYTHON", ""),
                               execution_api_url=api if api.endswith("/execution") else api + "/execution",
                               dags_folder=Path(dags_folder), logs_folder=logs)
    try:
        runner = AirflowTaskRunner(settings)
    except AirflowRunnerError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    ended: queue.Queue = queue.Queue()
    runner.add_listener(lambda event: ended.put(event.get("code", 1)) if event.get("event") == "exited" else None)
    for sig in (signal.SIGTERM, signal.SIGINT):  # the pod is deleted: the task's on_kill runs, then it ends
        signal.signal(sig, lambda *_: runner.kill("task"))
    # Airflow's runner finds the DAG file in the folder given here (the fetched bundle or the mounted one):
    # its `dags-folder` bundle is a local folder, which has no versions.
    workload = {**workload, "bundle_info": {**(workload.get("bundle_info") or {}), "version": None}}
    runner.submit("task", workload)
    code = ended.get()
    runner.stop()
    return code if isinstance(code, int) else 1
