"""What a job starts ends with it, whatever ends the job; a fork server that dies is noticed and replaced."""

import os
import queue
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from leoflow.executors.forkserver import ForkServer

from .test_forkserver import MARKED, _task_job, exit_codes, next_event

# A DAG file whose import starts three processes and writes their pids (its own first): one in the job's
# session, one that made its own session, and a daemon that forked twice and left its parent behind.
STARTS_CHILDREN = '''# airflow dag
import os, subprocess, time
out = {out!r}
kids = [subprocess.Popen(["sleep", "300"]).pid,
        subprocess.Popen(["sleep", "301"], start_new_session=True).pid]
r, w = os.pipe()
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.write(w, str(os.getpid()).encode())
        time.sleep(300)
    os._exit(0)
kids.append(int(os.read(r, 32)))
with open(out + ".tmp", "w") as f:
    f.write(" ".join(map(str, [os.getpid(), *kids])))
os.rename(out + ".tmp", out)
{then}
'''


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def wait_for(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def read_pids(path) -> list[int]:
    wait_for(path.exists)
    return [int(p) for p in path.read_text().split()]


@pytest.fixture
def server():
    fs = ForkServer.start()
    events: queue.Queue = queue.Queue()
    fs.add_listener(events.put)
    yield fs, events
    fs.stop()


def test_a_killed_job_is_reported_once_all_it_started_is_gone(server, tmp_path):
    fs, events = server
    pids_file = tmp_path / "pids"
    (tmp_path / "dag.py").write_text(STARTS_CHILDREN.format(out=str(pids_file), then="time.sleep(300)"))
    fs.submit("job", "parse", {"path": str(tmp_path / "dag.py"), "out": str(tmp_path / "o.json")})
    pids = read_pids(pids_file)
    assert all(alive(p) for p in pids)
    fs.kill("job")
    assert next_event(events, "exited", "job", timeout=10)["code"] == -9
    assert [p for p in pids if alive(p)] == []  # already gone when the exit was reported


def test_what_a_finished_job_left_running_ends_before_its_exit_is_reported(server, tmp_path):
    fs, events = server
    pids_file = tmp_path / "pids"
    (tmp_path / "dag.py").write_text(STARTS_CHILDREN.format(out=str(pids_file), then=""))
    fs.submit("job", "parse", {"path": str(tmp_path / "dag.py"), "out": str(tmp_path / "o.json")})
    assert next_event(events, "exited", "job", timeout=20)["code"] == 0
    assert [p for p in read_pids(pids_file)[1:] if alive(p)] == []


def test_a_daemon_of_a_running_job_is_left_alone_when_another_job_ends(server, tmp_path):
    fs, events = server
    pids_file = tmp_path / "pids"
    (tmp_path / "dag.py").write_text(STARTS_CHILDREN.format(out=str(pids_file), then="time.sleep(300)"))
    (tmp_path / "quick.py").write_text("# airflow dag\n")
    fs.submit("long", "parse", {"path": str(tmp_path / "dag.py"), "out": str(tmp_path / "o.json")})
    pids = read_pids(pids_file)
    fs.submit("quick", "parse", {"path": str(tmp_path / "quick.py"), "out": str(tmp_path / "q.json")})
    assert next_event(events, "exited", "quick", timeout=20)["code"] == 0
    assert all(alive(p) for p in pids)
    fs.kill("long")
    assert next_event(events, "exited", "long", timeout=10)["code"] == -9


LITE_STAND_IN = '''
import sys, time
from leoflow.executors.forkserver import ForkServer
fs = ForkServer.start()
fs.add_listener(lambda event: None)
fs.submit("parse", "parse", {{"path": {dag!r}, "out": {out!r}}})
fs.submit("task", "task", {task!r})
print(fs.pid, flush=True)
time.sleep(300)
'''


def test_a_kill_9_of_the_fork_servers_parent_ends_every_job_and_what_it_started(tmp_path):
    """lite's kill -9: the fork server and its template end their jobs, and the jobs' children, too."""
    import socket

    pids_file = tmp_path / "pids"
    (tmp_path / "dag.py").write_text(STARTS_CHILDREN.format(out=str(pids_file), then="time.sleep(300)"))
    (tmp_path / "marked.py").write_text(MARKED.format(version=1))
    silent = socket.socket()  # the task hangs on its first request: forked from a template and running
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    task = _task_job(tmp_path, 0, api_url=f"http://127.0.0.1:{silent.getsockname()[1]}/execution/")
    script = LITE_STAND_IN.format(dag=str(tmp_path / "dag.py"), out=str(tmp_path / "o.json"), task=task)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        fs_pid = int(parent.stdout.readline())
        pids = read_pids(pids_file)
        # The template and the task forked from it (and the exited middle of the daemon's double fork).
        template_tasks = wait_for(lambda: len(live := {p for p in _descendants(fs_pid) - {fs_pid, *pids}
                                                       if alive(p)}) >= 2 and live, timeout=20)
        parent.kill()
        parent.wait(5)
        wait_for(lambda: not any(alive(p) for p in [fs_pid, *pids, *template_tasks]), timeout=10)
    finally:
        parent.kill()
        silent.close()


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        found.add(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return found


def test_a_fork_server_that_dies_is_replaced_and_what_it_held_is_reported(server, tmp_path):
    fs, events = server
    pids_file = tmp_path / "pids"
    (tmp_path / "dag.py").write_text(STARTS_CHILDREN.format(out=str(pids_file), then="time.sleep(300)"))
    fs.submit("held", "parse", {"path": str(tmp_path / "dag.py"), "out": str(tmp_path / "o.json")})
    pids = read_pids(pids_file)
    old = fs.pid
    os.kill(old, signal.SIGKILL)
    down = _next_kind(events, "forkserver_down")
    assert "killed by SIGKILL" in down["reason"]
    exited = _next_kind(events, "exited")
    assert (exited["id"], exited["code"]) == ("held", None)
    assert "ended unexpectedly" in exited["reason"]
    # Gone when reported: the job, and what it started in its session. (Processes that left the session
    # of a job the server forked itself are not followed once the server is gone: ADR 17.)
    assert [p for p in pids[:2] if alive(p)] == []
    for escaped in pids[2:]:
        os.kill(escaped, signal.SIGKILL)
    # A job submitted now waits for the new server instead of failing.
    (tmp_path / "tiny.py").write_text("# airflow dag\n")
    fs.submit("after", "parse", {"path": str(tmp_path / "tiny.py"), "out": str(tmp_path / "t.json")})
    assert _next_kind(events, "forkserver_up")["pid"] == fs.pid != old
    assert exit_codes(events, ["after"], timeout=20) == {"after": 0}
    assert fs.restarts == 1 and fs.down_reason is None


def test_a_dying_template_ends_its_tasks_and_the_server_reports_them(server, tmp_path):
    import socket

    fs, events = server
    (tmp_path / "marked.py").write_text(MARKED.format(version=1))
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        fs.submit("hung", "task", _task_job(tmp_path, 0, api_url=f"http://127.0.0.1:{silent.getsockname()[1]}/execution/"))
        task_pid = next_event(events, "started", "hung")["pid"]
        template = int(open(f"/proc/{task_pid}/stat").read().rsplit(")", 1)[1].split()[1])
        assert template != fs.pid
        os.kill(template, signal.SIGKILL)
        exited = next_event(events, "exited", "hung", timeout=10)
        assert exited["code"] is None and "template" in exited["reason"]
        assert not alive(task_pid)
    finally:
        silent.close()


def _next_kind(events, kind, timeout=15.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = events.get(timeout=max(deadline - time.monotonic(), 0.01))
        if event["event"] == kind:
            return event
    raise AssertionError(f"no {kind} event")


def test_the_internal_command_serves_on_an_inherited_socket(tmp_path):
    """`leoflow _fork-server FD`, what a replacement runs, answers like a forked server."""
    fs = ForkServer.spawn()
    events: queue.Queue = queue.Queue()
    fs.add_listener(events.put)
    try:
        (tmp_path / "tiny.py").write_text(textwrap.dedent("""
            # airflow dag
            from airflow.sdk import DAG
            dag = DAG(dag_id="tiny", schedule=None)
        """))
        fs.submit("one", "parse", {"path": str(tmp_path / "tiny.py"), "out": str(tmp_path / "o.json")})
        assert exit_codes(events, ["one"], timeout=20) == {"one": 0}
        assert '"tiny"' in (tmp_path / "o.json").read_text()
    finally:
        fs.stop()


def test_while_its_fork_server_is_replaced_the_local_executor_hands_out_nothing(tmp_path):
    import socket

    from leoflow import config
    from leoflow.executors.local import LocalExecutor

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    settings = config.load(home=tmp_path, dags_folder=tmp_path, base_url=f"http://127.0.0.1:{silent.getsockname()[1]}")
    fs = ForkServer.start()
    executor = LocalExecutor(fs, 4, settings)
    seen: list = []

    def on_event(event):
        if event["event"] == "forkserver_down":
            seen.append(("down", executor.free_slots(), executor.problem))
        elif event["event"] == "forkserver_up":
            seen.append(("up", executor.free_slots(), executor.problem))

    fs.add_listener(on_event)
    (tmp_path / "marked.py").write_text(MARKED.format(version=1))
    try:
        executor.submit(_task_job(tmp_path, 0)["workload"])  # Airflow's ExecuteTask, as the scheduler hands it
        wait_for(lambda: [p for p in _descendants(fs.pid) if p != fs.pid and alive(p)] and
                 len(_descendants(fs.pid)) >= 3, timeout=20)  # the server, the template and the task
        os.kill(fs.pid, signal.SIGKILL)
        exits = wait_for(executor.drain_exits, timeout=15)
        assert [(e["ti_id"], e["exit_code"]) for e in exits] == [("ti0", None)]
        assert "ended unexpectedly (killed by SIGKILL)" in exits[0]["reason"]
        wait_for(lambda: len(seen) == 2, timeout=15)
        assert seen[0][:2] == ("down", 0) and "ended unexpectedly" in seen[0][2]
        assert seen[1] == ("up", 4, None)
    finally:
        silent.close()
        fs.stop()
