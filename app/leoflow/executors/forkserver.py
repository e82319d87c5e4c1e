"""A process that has already imported the task runtime and forks one child per job.

Started before the parent opens databases or threads, so children inherit a
clean, warm interpreter: a task starts in milliseconds and never re-runs the
executable (which, frozen, would unpack itself again).

Protocol over a socketpair, one JSON object per line:
  parent → server  {"op": "run", "id": ..., "kind": "task"|"parse", "payload": {...}}
                   {"op": "kill", "id": ...}
                   {"op": "warm"}   import the task runtime now (else before the first job)
  server → parent  {"event": "started", "id": ..., "pid": ...}
                   {"event": "exited", "id": ..., "code": ...}
"""

from __future__ import annotations

import gc
import json
import logging
import os
import select
import signal
import socket
import sys
import threading
import time
from typing import Callable

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Linux: be killed when the parent dies (a kill -9 of lite must not leave orphans running)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except Exception:
        pass


def _preload() -> None:
    """What every child needs, imported once here instead of once per task."""
    import importlib

    import leoflow.runner.run  # noqa: F401
    import leoflow.sdk.collect  # noqa: F401
    import leoflow.sdk.runtime  # noqa: F401
    import leoflow.sdk.serialize  # noqa: F401
    from leoflow.sdk import importhook

    importhook.install()
    # What nearly every DAG file and task touches: paid once here, not once per child.
    for name in ("jinja2", "pendulum", "subprocess", "dateutil.parser", "croniter", "airflow.sdk",
                 "airflow.providers.standard.operators.bash", "airflow.providers.standard.operators.python",
                 "airflow.providers.standard.operators.empty", "airflow.decorators", "airflow.models",
                 # What every task imported on its own (found by diffing sys.modules in a child):
                 # template rendering, the idna codec behind connecting to "127.0.0.1", getpass's pwd.
                 "leoflow.sdk.templating", "leoflow.sdk.macros", "jinja2.sandbox", "jinja2.nativetypes",
                 "jinja2.ext", "encodings.idna", "pwd", "pprint", "uuid", "leoflow.dagproc.parse",
                 # XCom encoding: without bytecode files (PYTHONDONTWRITEBYTECODE) each task compiled it.
                 "leoflow.scheduler.serde", "leoflow.runner.preload"):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    leoflow.runner.run.unixname()


def _run_child(kind: str, payload: dict) -> int:
    if kind == "task":
        from leoflow.runner.run import run_workload

        return run_workload(payload)
    if kind == "parse":
        from leoflow.dagproc.parse import parse_to_file

        return parse_to_file(payload["path"], payload["out"])
    if kind == "callback":  # a DAG's on_success/on_failure callback (scheduler/callbacks.py)
        from leoflow.scheduler.callbacks import run_callback_child

        return run_callback_child(payload)
    raise ValueError(f"unknown job kind {kind!r}")


class ForkServer:
    def __init__(self, pid: int, sock: socket.socket):
        self.pid = pid
        self.sock = sock
        self._send_lock = threading.Lock()
        self._listeners: list[Callable[[dict], None]] = []
        self._reader = threading.Thread(target=self._read_events, daemon=True, name="forkserver-events")
        self._started_reader = False

    @classmethod
    def start(cls) -> "ForkServer":
        parent_sock, child_sock = socket.socketpair()
        pid = os.fork()
        if pid == 0:  # the fork server
            parent_sock.close()
            code = 0
            try:
                gc.enable()  # lite starts with the collector off; the fork server and its tasks collect as usual
                die_with_parent()
                _serve(child_sock)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        child_sock.close()
        return cls(pid, parent_sock)

    def add_listener(self, fn: Callable[[dict], None]) -> None:
        self._listeners.append(fn)
        if not self._started_reader:
            self._started_reader = True
            self._reader.start()

    def submit(self, job_id: str, kind: str, payload: dict) -> None:
        self._send({"op": "run", "id": job_id, "kind": kind, "payload": payload})

    def warm(self) -> None:
        """Import the task runtime now, in the background, so the first task starts warm."""
        self._send({"op": "warm"})

    def kill(self, job_id: str) -> None:
        self._send({"op": "kill", "id": job_id})

    def _send(self, message: dict) -> None:
        data = (json.dumps(message, default=str) + "\n").encode()
        with self._send_lock:
            self.sock.sendall(data)

    def _read_events(self) -> None:
        buf = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                event = json.loads(line)
                for fn in self._listeners:
                    try:
                        fn(event)
                    except Exception:
                        log.exception("fork server listener failed")

    def stop(self) -> None:
        try:
            self._send({"op": "stop"})
        except OSError:
            pass
        try:
            os.kill(self.pid, signal.SIGTERM)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        self.sock.close()


# Task jobs of one DAG file go to a template: a child of the server that imported the file once (per
# file version) and forks the tasks itself. Templates unused this long are retired; at most this many live.
TEMPLATE_IDLE_SECONDS = 30.0
MAX_TEMPLATES = 4


class _Template:
    def __init__(self, pid: int, sock: socket.socket, key):
        self.pid, self.sock, self.key = pid, sock, key
        self.buf = b""
        self.last_used = time.monotonic()


def _serve(sock: socket.socket, template_of: str | None = None) -> None:
    import gc

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    warm = template_of is not None

    def warm_up() -> None:
        # Deferred until the parent says "warm" (once it serves requests) or the first job: on a
        # small machine, importing the task runtime here would slow the parent's own start.
        nonlocal warm
        if not warm:
            warm = True
            _preload()
            # Everything imported so far lives as long as this process: keep the collector from
            # touching (and so copying) those pages in every child.
            gc.collect()
            gc.freeze()
    # A child's exit wakes the loop at once (SIGCHLD → a byte on this pipe) instead of a 50 ms poll.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w, warn_on_full_buffer=False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: dict[int, str] = {}  # pid -> job id
    by_job: dict[str, int] = {}
    templates: dict[str, _Template] = {}  # DAG file -> its current template (the server only)
    retiring: list[_Template] = []  # draining: still relaying their tasks' events
    job_template: dict[str, _Template] = {}
    draining = False
    buf = b""

    def send(message: dict) -> None:
        sock.sendall((json.dumps(message) + "\n").encode())

    def retire(t: _Template) -> None:
        templates.pop(next((p for p, v in templates.items() if v is t), None), None)
        retiring.append(t)
        try:
            t.sock.sendall(b'{"op": "drain"}\n')
        except OSError:
            pass

    def template_for(path: str) -> _Template | None:
        from leoflow.runner.preload import file_key

        key = file_key(path)
        if key is None:
            return None
        current = templates.get(path)
        if current is not None and current.key == key:
            return current
        if current is not None:
            retire(current)  # the file changed: its tasks from now on fork from a fresh import
        if len(templates) >= MAX_TEMPLATES:
            retire(min(templates.values(), key=lambda t: t.last_used))
        inherited = [sock.fileno(), wake_r, wake_w] + [t.sock.fileno() for t in [*templates.values(), *retiring]]
        t = _spawn_template(path, key, inherited)
        templates[path] = t
        return t

    def forward(t: _Template, line: bytes) -> None:
        try:
            t.sock.sendall(line + b"\n")
        except OSError:  # it died: its jobs' exits will never come; report them failed
            templates.pop(next((p for p, v in templates.items() if v is t), None), None)
            for job_id in [j for j, owner in job_template.items() if owner is t]:
                job_template.pop(job_id)
                send({"event": "exited", "id": job_id, "code": 1})

    while True:
        if draining and not children:
            return
        template_socks = {t.sock: t for t in [*templates.values(), *retiring]}
        try:
            readable, _, _ = select.select([sock, wake_r, *template_socks], [], [], 1.0)
        except InterruptedError:
            readable = []
        if wake_r in readable:
            try:
                while os.read(wake_r, 512):
                    pass
            except BlockingIOError:
                pass
        for tsock in readable:
            t = template_socks.get(tsock)
            if t is None:
                continue
            chunk = b""
            try:
                chunk = tsock.recv(65536)
            except OSError:
                pass
            if not chunk:  # the template ended
                templates.pop(next((p for p, v in templates.items() if v is t), None), None)
                if t in retiring:
                    retiring.remove(t)
                tsock.close()
                continue
            t.buf += chunk
            while b"\n" in t.buf:
                line, t.buf = t.buf.split(b"\n", 1)
                sock.sendall(line + b"\n")  # its tasks' started/exited events, as they are
                event = json.loads(line)
                if event.get("event") == "exited":
                    job_template.pop(event["id"], None)
        if sock in readable:
            chunk = sock.recv(65536)
            if not chunk:
                break  # the parent is gone
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                msg = json.loads(raw)
                if msg["op"] == "warm":
                    warm_up()
                elif msg["op"] == "run":
                    warm_up()
                    t = None
                    if template_of is None and msg["kind"] == "task" and msg["payload"].get("fileloc"):
                        t = template_for(msg["payload"]["fileloc"])
                    if t is not None:
                        t.last_used = time.monotonic()
                        job_template[msg["id"]] = t
                        forward(t, raw)
                        continue
                    pid = _fork_job(sock, msg["kind"], msg["payload"], (wake_r, wake_w),
                                    [t.sock for t in [*templates.values(), *retiring]])
                    children[pid] = msg["id"]
                    by_job[msg["id"]] = pid
                    send({"event": "started", "id": msg["id"], "pid": pid})
                elif msg["op"] == "kill" and msg["id"] in job_template:
                    forward(job_template[msg["id"]], raw)
                elif msg["op"] == "kill" and msg["id"] in by_job:
                    try:
                        os.killpg(by_job[msg["id"]], signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                elif msg["op"] == "drain":  # a template: no more jobs come; end when its tasks have
                    draining = True
                elif msg["op"] == "stop":
                    return
        while True:  # tasks, and templates that ended
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            job_id = children.pop(pid, None)
            if job_id is not None:
                by_job.pop(job_id, None)
                send({"event": "exited", "id": job_id, "code": os.waitstatus_to_exitcode(status)})
        now = time.monotonic()
        for t in [t for t in templates.values() if now - t.last_used > TEMPLATE_IDLE_SECONDS]:
            retire(t)  # its memory back; the next task of that file imports it again


def _spawn_template(path: str, key, inherited_fds: list[int]) -> _Template:
    parent_sock, child_sock = socket.socketpair()
    pid = os.fork()
    if pid:
        child_sock.close()
        return _Template(pid, parent_sock, key)
    code = 0
    try:
        signal.set_wakeup_fd(-1)
        for fd in inherited_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        parent_sock.close()
        die_with_parent()
        from leoflow.runner import preload

        preload.preload(path)
        _serve(child_sock, template_of=path)
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _unfreeze_environment() -> None:
    """In the single executable, programs a task starts (bash, ...) must see the system's libraries,
    not the ones unpacked for Leoflow itself."""
    if not getattr(sys, "frozen", False):
        return
    for var in ("LD_LIBRARY_PATH",):
        original = os.environ.pop(f"{var}_ORIG", None)
        if original is not None:
            os.environ[var] = original
        else:
            os.environ.pop(var, None)


def _fork_job(server_sock: socket.socket, kind: str, payload: dict, wake_fds: tuple[int, int] = (),
              other_socks: list[socket.socket] = ()) -> int:
    pid = os.fork()
    if pid:
        # The child makes its own process group too, but a kill may come before it runs: set it here as well,
        # so a kill right after "started" reaches the job instead of finding no such group.
        try:
            os.setpgid(pid, pid)
        except OSError:  # the child has already done it (EACCES after exec) or has already exited
            pass
        return pid
    code = 1
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the task's own subprocesses are its business
        for fd in wake_fds:
            os.close(fd)
        server_sock.close()
        for other in other_socks:
            other.close()
        os.setpgid(0, 0)  # its own process group: a kill reaches the task's subprocesses too
        die_with_parent()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _unfreeze_environment()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        code = _run_child(kind, payload)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:
            pass
        os._exit(code)
