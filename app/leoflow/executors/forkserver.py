"""A process that has already imported the task runtime and forks one child per job.

Started before the parent opens databases or threads, so children inherit a
clean, warm interpreter: a task starts in milliseconds and never re-runs the
executable (which, frozen, would unpack itself again).

Protocol over a socketpair, one JSON object per line:
  parent → server  {"op": "run", "id": ..., "kind": "task"|"parse"|"callback", "payload": {...}}
                   {"op": "kill", "id": ..., "signal": 9}   SIGKILL (the default): the job and what it
                                                            started; another signal: the job's process only
                   {"op": "warm"}   import the task runtime now (else before the first job)
                   {"op": "stop"}
  server → parent  {"event": "started", "id": ..., "pid": ...}
                   {"event": "exited", "id": ..., "code": ...}   once the job and all it started are gone
The handle in the parent adds {"event": "exited", ..., "code": None, "reason": ...} for the jobs of a fork
server that died, and {"event": "forkserver_down"|"forkserver_up", ...} around its replacement.

Every job leads its own session; the server and its templates are child subreapers that end what an
ended job left running before reporting its exit, and end all their jobs when their own parent dies
(ADR 17).
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

from . import proctree

log = logging.getLogger(__name__)

# How long a job submitted while the fork server is being replaced waits for the new one.
SUBMIT_WAIT_SECONDS = 30.0
# A fork server that dies within this long of its start is restarted after a growing pause, not at once.
QUICK_DEATH_SECONDS = 10.0
RESTART_DELAYS = (0.0, 1.0, 2.0, 5.0, 10.0, 30.0)
# On stop or its parent's death, a server (or template) gives its jobs this long to be gone before it exits.
SHUTDOWN_SECONDS = 5.0


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


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class ForkServer:
    """The parent's handle on its fork server: sends jobs, relays events, and replaces a server that died.

    The handle outlives the process behind it: when the server ends without being asked (a DAG file killed
    its parent, the OOM killer), the jobs it held are reported `exited` with a reason, once their
    processes are gone, and a fresh server is started (spawned: the parent has threads by then).
    """

    def __init__(self, pid: int, sock: socket.socket, *, keep_fds=(), wait=None):
        self.pid = pid
        self.sock = sock
        self.keep_fds = tuple(keep_fds)  # inherited by every server: lite's home lock (cli/lite.py)
        self._wait = wait or _waitpid(pid)
        self._send_lock = threading.Lock()
        self._listeners: list[Callable[[dict], None]] = []
        self._reader = threading.Thread(target=self._read_events, daemon=True, name="forkserver-events")
        self._started_reader = False
        self._outstanding: dict[str, int | None] = {}  # job id -> its pid once started, until it exits
        self.up = threading.Event()
        self.up.set()
        self.down_reason: str | None = None  # why no fork server runs now (for health)
        self.restarts = 0
        self._started_at = time.monotonic()
        self._quick_deaths = 0
        self._warmed = False
        self._stopping = threading.Event()

    @classmethod
    def start(cls, keep_fds=()) -> "ForkServer":
        parent_sock, child_sock = socket.socketpair()
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the fork server
            parent_sock.close()
            code = 0
            try:
                os.setpgid(0, 0)  # its own process group, its templates with it: gone together
                gc.enable()  # lite starts with the collector off; the fork server and its tasks collect as usual
                _forkserver_main(child_sock, parent)
            except BaseException:
                import traceback

                traceback.print_exc()  # a fault of the fork server itself: lite restarts it, this says why
                code = 1
            finally:
                os._exit(code)
        try:
            os.setpgid(pid, pid)  # here too: whichever runs first, the group exists from now on
        except OSError:
            pass
        child_sock.close()
        return cls(pid, parent_sock, keep_fds=keep_fds)

    @classmethod
    def spawn(cls, keep_fds=()) -> "ForkServer":
        pid, sock, wait = _spawn(tuple(keep_fds))
        return cls(pid, sock, keep_fds=keep_fds, wait=wait)

    def add_listener(self, fn: Callable[[dict], None]) -> None:
        self._listeners.append(fn)
        if not self._started_reader:
            self._started_reader = True
            self._reader.start()

    def submit(self, job_id: str, kind: str, payload: dict) -> None:
        """Hand a job to the server. Every job gets its `exited` event, even when the server dies."""
        if not self._send({"op": "run", "id": job_id, "kind": kind, "payload": payload}, job_id=job_id):
            self._deliver({"event": "exited", "id": job_id, "code": None,
                           "reason": self.down_reason or "the fork server is not running"})

    def warm(self) -> None:
        """Import the task runtime now, in the background, so the first task starts warm."""
        self._warmed = True
        self._send({"op": "warm"}, wait=False)

    def kill(self, job_id: str, sig: int = signal.SIGKILL) -> None:
        """SIGKILL (the default) ends the job's process group and what it left; another signal goes to the
        job's process alone, for it to end itself (a task's SIGTERM runs its operator's on_kill)."""
        self._send({"op": "kill", "id": job_id, "signal": int(sig)}, wait=False)

    def _send(self, message: dict, *, job_id: str | None = None, wait: bool = True) -> bool:
        data = (json.dumps(message, default=str) + "\n").encode()
        deadline = time.monotonic() + SUBMIT_WAIT_SECONDS
        while True:
            with self._send_lock:
                if self.up.is_set():
                    if job_id is not None:
                        self._outstanding[job_id] = None
                    try:
                        self.sock.sendall(data)
                    except OSError:
                        pass  # it has just died: the reader reports this job with the others it held
                    return True
            remaining = deadline - time.monotonic()
            if not wait or self._stopping.is_set() or remaining <= 0 or not self.up.wait(remaining):
                return False

    def _deliver(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "started":
            with self._send_lock:
                if event["id"] in self._outstanding:
                    self._outstanding[event["id"]] = event.get("pid")
        elif kind == "exited":
            with self._send_lock:
                self._outstanding.pop(event["id"], None)
        for fn in self._listeners:
            try:
                fn(event)
            except Exception:
                log.exception("fork server listener failed")

    def _read_events(self) -> None:
        while True:
            buf = b""
            while True:
                try:
                    chunk = self.sock.recv(65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    self._deliver(json.loads(line))
            if self._stopping.is_set() or not self._replace():
                return

    def _replace(self) -> bool:
        """The server ended unasked: report what it held once its processes are gone, start a new one."""
        with self._send_lock:
            self.up.clear()
            lost, self._outstanding = self._outstanding, {}
        code = self._wait()
        old = self.pid
        self.down_reason = f"the fork server (pid {old}) ended unexpectedly ({_describe_exit(code)})"
        quick = time.monotonic() - self._started_at < QUICK_DEATH_SECONDS
        self._quick_deaths = self._quick_deaths + 1 if quick else 0
        delay = RESTART_DELAYS[min(self._quick_deaths, len(RESTART_DELAYS) - 1)]
        log.error("%s; %d job(s) it held are reported failed, and a new fork server starts%s",
                  self.down_reason[0].upper() + self.down_reason[1:], len(lost),
                  f" in {delay:g}s" if delay else " now")
        self._deliver({"event": "forkserver_down", "pid": old, "reason": self.down_reason})
        # Its templates end their tasks and what those started, then exit: wait for its process group.
        deadline = time.monotonic() + SHUTDOWN_SECONDS
        while proctree.group_alive(old) and time.monotonic() < deadline:
            time.sleep(0.01)
        if proctree.group_alive(old):
            try:
                os.killpg(old, signal.SIGKILL)
            except OSError:
                pass
        # A job it forked itself died with it; whatever that job started is found by the job's session.
        proctree.end_sessions({pid: None for pid in lost.values() if pid}, timeout=SHUTDOWN_SECONDS)
        for job_id in lost:
            self._deliver({"event": "exited", "id": job_id, "code": None, "reason": self.down_reason})
        while not self._stopping.wait(delay):
            try:
                pid, sock, wait = _spawn(self.keep_fds)
                break
            except OSError as exc:
                delay = max(delay * 2, 1.0)
                log.error("Could not start a new fork server (%s); trying again in %gs", exc, delay)
        else:
            return False
        with self._send_lock:
            self.sock.close()
            self.pid, self.sock, self._wait = pid, sock, wait
            self._started_at = time.monotonic()
            self.restarts += 1
            self.down_reason = None
            self.up.set()
        if self._warmed:
            self.warm()
        self._deliver({"event": "forkserver_up", "pid": pid})
        return True

    def stop(self) -> None:
        self._stopping.set()
        with self._send_lock:
            if not self.up.is_set():  # between servers: the last one is gone already (and its pid reaped)
                return
            try:
                self.sock.sendall(b'{"op": "stop"}\n')
            except OSError:
                pass
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        self._wait(SHUTDOWN_SECONDS + 5.0)
        self.sock.close()


def _waitpid(pid: int):
    """How the handle waits for a forked server: its exit code, or None; SIGKILL once `timeout` passes."""

    def wait(timeout: float = 5.0) -> int | None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                return None
            if done:
                return os.waitstatus_to_exitcode(status)
            if time.monotonic() > deadline:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                deadline = float("inf")
            time.sleep(0.005)

    return wait


def _spawn(keep_fds: tuple[int, ...]):
    """A new fork server from a fresh interpreter (`leoflow _fork-server FD`): forking a parent that has
    threads and database connections would hand the child their locks in whatever state they were."""
    import subprocess

    parent_sock, child_sock = socket.socketpair()
    fd = child_sock.fileno()
    command = [sys.executable] if getattr(sys, "frozen", False) else [sys.executable, "-m", "leoflow"]
    try:
        proc = subprocess.Popen([*command, "_fork-server", str(fd)], pass_fds=(fd, *keep_fds),
                                stdin=subprocess.DEVNULL, process_group=0)
    finally:
        child_sock.close()

    def wait(timeout: float = 5.0) -> int | None:
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    return proc.pid, parent_sock, wait


def serve_inherited(fd: int) -> int:
    """`leoflow _fork-server FD`: be a fork server on the socket inherited as FD."""
    gc.enable()
    _forkserver_main(socket.socket(fileno=fd), os.getppid())
    return 0


def _forkserver_main(sock: socket.socket, parent: int) -> None:
    # When its parent dies (even by kill -9), it ends its jobs and what they started, then exits.
    proctree.die_with_parent(signal.SIGTERM)
    if os.getppid() != parent:
        return  # the parent died before the line above
    proctree.become_subreaper()
    _serve(sock)


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
    ending: list[int] = []  # SIGTERM: from the parent's stop(), or its death (PR_SET_PDEATHSIG)
    signal.signal(signal.SIGTERM, lambda signum, _frame: ending.append(signum))
    children: dict[int, str] = {}  # pid -> job id
    by_job: dict[str, int] = {}
    templates: dict[str, _Template] = {}  # DAG file -> its current template (the server only)
    retiring: list[_Template] = []  # draining: still relaying their tasks' events
    job_template: dict[str, _Template] = {}
    draining = False
    buf = b""

    def send(message: dict) -> None:
        send_line(json.dumps(message).encode())

    def send_line(line: bytes) -> None:
        try:
            sock.sendall(line + b"\n")
        except OSError:
            ending.append(0)  # the parent is gone

    def known_pids() -> set[int]:
        return {*children, *(t.pid for t in [*templates.values(), *retiring])}

    def template_ended(t: _Template) -> None:
        """Its tasks died with it (PR_SET_PDEATHSIG); what they started came here: end it, then report them."""
        templates.pop(next((p for p, v in templates.items() if v is t), None), None)
        if t in retiring:
            retiring.remove(t)
        proctree.end_strays(known_pids())
        for job_id in [j for j, owner in job_template.items() if owner is t]:
            job_template.pop(job_id)
            send({"event": "exited", "id": job_id, "code": None, "reason": "its template process ended"})

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
        except OSError:  # it died: its jobs' exits will never come from it
            template_ended(t)

    def kill(job_id: str, sig: int) -> None:
        if sig == signal.SIGKILL:
            proctree.kill_job(by_job[job_id])  # its exit is reported once what it started is gone too
        else:
            try:
                os.kill(by_job[job_id], sig)
            except ProcessLookupError:
                pass

    while not ending:
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
                tsock.close()
                template_ended(t)
                continue
            t.buf += chunk
            while b"\n" in t.buf:
                line, t.buf = t.buf.split(b"\n", 1)
                send_line(line)  # its tasks' started/exited events, as they are
                event = json.loads(line)
                if event.get("event") == "exited":
                    job_template.pop(event["id"], None)
        if sock in readable:
            chunk = b""
            try:
                chunk = sock.recv(65536)
            except OSError:
                pass
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
                    kill(msg["id"], msg.get("signal", signal.SIGKILL))
                elif msg["op"] == "drain":  # a template: no more jobs come; end when its tasks have
                    draining = True
                elif msg["op"] == "stop":
                    ending.append(0)
        ended = []
        while True:  # tasks, templates that ended, and orphans of ended tasks
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            job_id = children.pop(pid, None)
            if job_id is not None:
                by_job.pop(job_id, None)
                ended.append((job_id, os.waitstatus_to_exitcode(status)))
        if ended:
            # What the ended jobs started was re-parented here: it ends before their exits are reported,
            # so a retry never runs beside a command its previous try left behind.
            proctree.end_strays(known_pids())
            for job_id, code in ended:
                send({"event": "exited", "id": job_id, "code": code})
        now = time.monotonic()
        for t in [t for t in templates.values() if now - t.last_used > TEMPLATE_IDLE_SECONDS]:
            retire(t)  # its memory back; the next task of that file imports it again
    _end_everything(children, [*templates.values(), *retiring])


def _end_everything(jobs: dict[int, str], templates: list[_Template]) -> None:
    """Stop, or the parent died: end every job and what it started; templates do the same with theirs."""
    for pid in jobs:
        proctree.kill_job(pid)
    for t in templates:
        try:
            os.kill(t.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    waiting = {t.pid for t in templates}
    deadline = time.monotonic() + SHUTDOWN_SECONDS
    while True:
        for pid in list(waiting):
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    waiting.discard(pid)
            except ChildProcessError:
                waiting.discard(pid)
        if time.monotonic() > deadline:  # a template that did not finish in time goes the hard way
            for pid in waiting:
                proctree.kill_job(pid)
            waiting = set()
        proctree.end_strays(waiting)  # the jobs, what they started, and what ended templates left
        if not waiting:
            return
        time.sleep(0.005)


def _spawn_template(path: str, key, inherited_fds: list[int]) -> _Template:
    parent_sock, child_sock = socket.socketpair()
    server = os.getpid()
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
        # Like the server: when the server dies it ends its tasks and what they started (SIGTERM), and
        # what an ended task started comes here to be ended.
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # until _serve: a server's death ends it plainly
        proctree.die_with_parent(signal.SIGTERM)
        if os.getppid() != server:
            return
        proctree.become_subreaper()
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
        # (No setpgid here: the child makes its own session, which a group leader cannot. A kill that comes
        # before the child runs reaches it by its pid: see proctree.kill_job.)
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
        # Its own session (and process group): what the task starts stays in it unless it leaves on
        # purpose, so a kill reaches it and, after a restart, its leftovers are found by session.
        os.setsid()
        # What its own children leave (a daemon that forked twice) comes to it while it runs, and to its
        # server once it ends: the server then ends exactly what ended tries left behind.
        proctree.become_subreaper()
        proctree.die_with_parent()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the server's: a task ends on SIGTERM (or handles it)
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
