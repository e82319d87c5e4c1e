"""Run with Airflow's interpreter (LEOFLOW_AIRFLOW_PYTHON), never imported by Leoflow: a warm process
that has imported Airflow 3.2's task runner once and forks one child per try, in which Airflow's
`execute_workload` (what `python -m airflow.sdk.execution_time.execute_workload` runs) supervises the
task. Airflow's own LocalExecutor forks its workers the same way; importing Airflow cost about 2 s of
CPU per task before this existed.

Only the standard library and Airflow are used here. One JSON object per line:
  Leoflow → here   {"op": "run", "id": ..., "workload": {...}, "log": "/abs/path/of/the/try.log"}
                   {"op": "kill", "id": ...}
  here → Leoflow   {"event": "ready"}, {"event": "started", "id": ..., "pid": ...},
                   {"event": "exited", "id": ..., "code": ...}
The environment (Airflow's configuration: Execution API URL, DAG bundle, log folder) is set by
Leoflow when it starts this process; a run's optional "env" overrides it for that try alone (an
agent's tries each have their bundle's folder). Closing stdin ends it, and its tries with it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import select
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
KILL_GRACE = 3.0  # seconds a try's task has to stop (on_kill) before what is left is killed
# What execute_workload prints of its own (the supervisor's log) goes into the try's log; the copies it
# prints of the task's lines (subprocess_logs_to_stdout) are in the log file already.
SUPERVISOR_LOGGERS = ("__main__", "supervisor", "airflow.sdk.api.", "airflow.sdk.execution_time.supervisor",
                      "airflow.sdk.execution_time.execute_workload")


def _prctl(option: int, value: int) -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)
    except Exception:
        pass


def die_with_parent(sig=signal.SIGKILL) -> None:
    """Linux: receive `sig` when the parent (thread) ends."""
    _prctl(PR_SET_PDEATHSIG, sig)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Relay:
    """One of a try's output pipes (its stdout or stderr), read here: the supervisor's own messages are
    appended to the try's log."""

    def __init__(self, fd: int, log_path: str, level: str):
        self.fd, self.log_path, self.level = fd, log_path, level
        self.pending = b""

    def read(self) -> bool:
        """Read what is there; False at the end."""
        chunk = os.read(self.fd, 65536)
        data = self.pending + chunk
        lines = data.split(b"\n")
        self.pending = lines.pop() if chunk else b""
        records = [r for r in (self._record(line) for line in lines) if r is not None]
        if records:
            with open(self.log_path, "a", encoding="utf-8") as log:
                for record in records:
                    log.write(json.dumps(record, default=str, ensure_ascii=False, separators=(",", ":")) + "\n")
        if not chunk:
            os.close(self.fd)
        return bool(chunk)

    def _record(self, raw: bytes) -> dict | None:
        text = raw.decode("utf-8", "replace").rstrip("\r")
        if not text:
            return None
        try:
            record = json.loads(text)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            return {"timestamp": _now(), "level": self.level, "event": text, "logger": "airflow.supervisor"}
        if not str(record.get("logger", "")).startswith(SUPERVISOR_LOGGERS):
            return None
        return record


def _try(workload: dict, out_fd: int, err_fd: int) -> int:
    """In the forked child: the try's process group, and its keeper.

    The group holds Airflow's supervisor and the task process it forks. This first process only waits
    for the supervisor; if the zygote dies (Leoflow was killed), it is told so and ends the whole
    group: the task must not run on unsupervised."""
    os.setpgid(0, 0)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)  # the task stays this keeper's to wait for when the supervisor is gone
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    zygote = os.getppid()
    signal.signal(signal.SIGTERM, lambda *_: _end_group())
    die_with_parent(signal.SIGTERM)
    if os.getppid() != zygote:  # the zygote died before the line above
        _end_group()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            code = _supervise(workload, out_fd, err_fd)
        finally:
            os._exit(code)
    os.close(out_fd)
    os.close(err_fd)
    while True:
        try:
            _, status = os.waitpid(pid, 0)
            return os.waitstatus_to_exitcode(status)
        except InterruptedError:
            continue


def _end_group() -> None:
    """The try's group is ended: SIGTERM first, so that Airflow's task runner calls the task's on_kill
    (a BashOperator's command runs in a session of its own), then SIGKILL for what is left."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # this keeper outlives its own SIGTERM
    os.killpg(0, signal.SIGTERM)
    deadline = time.monotonic() + KILL_GRACE
    while time.monotonic() < deadline:
        try:
            if os.waitpid(-1, os.WNOHANG) == (0, 0):
                time.sleep(0.05)
        except ChildProcessError:
            break  # all of it ended
    os.killpg(0, signal.SIGKILL)


def _supervise(workload: dict, out_fd: int, err_fd: int) -> int:
    """Airflow's execute_workload for one try."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(out_fd, 1)
    os.dup2(err_fd, 2)
    os.close(out_fd)
    os.close(err_fd)
    sys.stdout = os.fdopen(1, "w", buffering=1, closefd=False)
    sys.stderr = os.fdopen(2, "w", buffering=1, closefd=False)
    code = 0
    try:
        from airflow.sdk.execution_time import execute_workload as entry

        sys.argv = [entry.__file__, "--json-string", json.dumps(workload)]
        entry.main()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
    return code


# Imported once here, inherited by every try: Airflow's configuration, its supervisor, and what its task
# process imports to find the DAG (about 2 s of CPU per try otherwise).
WARM = ("airflow.sdk.execution_time.execute_workload", "airflow.sdk.execution_time.supervisor",
        "airflow.executors.workloads", "airflow.dag_processing.bundles.manager", "airflow.dag_processing.bundles.local",
        "airflow.dag_processing.dagbag", "airflow.providers.standard.decorators.python",
        "airflow.providers.standard.operators.python", "airflow.providers.standard.operators.bash",
        "airflow.providers.standard.operators.empty")


def serve() -> None:
    import importlib

    # Not PR_SET_PDEATHSIG: it follows the thread that started this process, and Leoflow's threads
    # come and go. Leoflow's end closes stdin instead (a kill -9 too), and the parent is watched.
    parent = os.getppid()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is Leoflow's business
    # stdout carries the events alone: what importing Airflow logs there goes nowhere.
    out = os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    for name in WARM:
        try:
            importlib.import_module(name)
        except ImportError:
            pass

    def send(message: dict) -> None:
        out.write(json.dumps(message) + "\n")
        out.flush()

    children: dict[int, str] = {}  # pid -> job id
    by_job: dict[str, int] = {}
    relays: dict[int, _Relay] = {}  # read end -> relay
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    stdin = sys.stdin.buffer
    buf = b""
    send({"event": "ready"})
    try:
        while True:
            try:
                readable, _, _ = select.select([stdin, wake_r, *relays], [], [], 1.0)
            except InterruptedError:
                readable = []
            if os.getppid() != parent:
                return  # Leoflow is gone
            if wake_r in readable:
                os.read(wake_r, 512)
            for fd in readable:
                if fd in relays and not relays[fd].read():
                    del relays[fd]
            if stdin in readable:
                chunk = os.read(stdin.fileno(), 65536)
                if not chunk:
                    return  # Leoflow is gone
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    msg = json.loads(line)
                    if msg["op"] == "run":
                        os.makedirs(os.path.dirname(msg["log"]), exist_ok=True)
                        (out_r, out_w), (err_r, err_w) = os.pipe(), os.pipe()
                        pid = os.fork()
                        if pid == 0:
                            code = 1
                            try:
                                signal.set_wakeup_fd(-1)
                                # the events pipe too: Leoflow must see the zygote's end when it ends
                                for fd in (wake_r, wake_w, out_r, err_r, out.fileno(), *relays):
                                    os.close(fd)
                                os.environ.update(msg.get("env") or {})  # this try's own settings, if any
                                code = _try(msg["workload"], out_w, err_w)
                            finally:
                                os._exit(code)
                        os.close(out_w)
                        os.close(err_w)
                        relays[out_r] = _Relay(out_r, msg["log"], "info")
                        relays[err_r] = _Relay(err_r, msg["log"], "error")
                        children[pid] = msg["id"]
                        by_job[msg["id"]] = pid
                        send({"event": "started", "id": msg["id"], "pid": pid})
                    elif msg["op"] == "kill" and msg["id"] in by_job:
                        try:  # its keeper ends the group: on_kill first, then SIGKILL
                            os.kill(by_job[msg["id"]], signal.SIGTERM)
                        except ProcessLookupError:
                            pass
            while children:
                try:
                    pid, status = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                job = children.pop(pid, None)
                if job is not None:
                    by_job.pop(job, None)
                    send({"event": "exited", "id": job, "code": os.waitstatus_to_exitcode(status)})
    finally:
        for pid in children:  # Leoflow is gone or stopping: so are its tries (their keepers end them)
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


if __name__ == "__main__":
    serve()
