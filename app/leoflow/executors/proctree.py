"""The processes a try leaves behind: find them and end them.

Each task process leads its own session, and the fork server and its templates are child subreapers: when
a task process ends, whatever it started (a BashOperator's command, a daemon that forked twice) is
re-parented to the process that forked the task instead of to init, and is ended there before the task's
exit is reported. Sessions identify a try's processes after every Leoflow process is gone (a restart).

Linux only (prctl, /proc); elsewhere these do nothing and a task's process group is all that is ended.
"""

from __future__ import annotations

import os
import signal
import time

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36


def _prctl(option: int, value: int) -> bool:
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except Exception:
        return False


def die_with_parent(sig: int = signal.SIGKILL) -> None:
    """Be sent `sig` when the parent (the thread that forked this process) ends."""
    _prctl(PR_SET_PDEATHSIG, int(sig))


def become_subreaper() -> bool:
    """Orphaned descendants come to this process, not to init (not inherited across fork)."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


def _stat(pid: int) -> tuple[int, int, int, int] | None:
    """(ppid, process group, session, start time in clock ticks since boot) of a process, None if it is
    gone or has ended and waits to be reaped."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()  # after "pid (comm) ": the name may hold spaces
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[1]), int(fields[2]), int(fields[3]), int(fields[19])


def _all_pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir("/proc") if name.isdigit()]
    except OSError:
        return []


def children() -> list[int]:
    """This process's children, orphans re-parented to it included."""
    me = os.getpid()
    pids: list[int] = []
    try:
        threads = os.listdir(f"/proc/{me}/task")
    except OSError:
        return []
    for tid in threads:
        try:
            with open(f"/proc/{me}/task/{tid}/children", "rb") as f:
                pids.extend(int(p) for p in f.read().split())
        except FileNotFoundError:  # a kernel without CONFIG_PROC_CHILDREN: look at every process
            return [pid for pid in _all_pids() if (st := _stat(pid)) is not None and st[0] == me]
        except OSError:
            pass
    return pids


def kill_job(pid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a job process and its process group.

    The process itself first: a job that has not yet made its own session has no group to signal
    (a kill sent to the group alone was lost then), and nothing of its own to take along yet.
    """
    for send in (os.kill, os.killpg):
        try:
            send(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def end_strays(known, timeout: float = 2.0) -> None:
    """SIGKILL and reap every child of this process that is not in `known`: the orphans of ended tasks.

    Each stray's process group goes with it; what a stray leaves in turn comes here too, and the loop
    ends it the same way until no stray is left (or `timeout` passes: a process stuck in the kernel).
    """
    deadline = time.monotonic() + timeout
    while True:
        strays = [pid for pid in children() if pid not in known]
        if not strays:
            return
        for pid in strays:
            try:
                group = os.getpgid(pid)
            except OSError:
                group = None
            kill_job(pid)
            if group is not None and group != os.getpgrp():
                try:
                    os.killpg(group, signal.SIGKILL)
                except OSError:
                    pass
        while strays:
            for pid in list(strays):
                try:
                    done = os.waitpid(pid, os.WNOHANG)[0]
                except ChildProcessError:
                    done = pid
                if done:
                    strays.remove(pid)
            if strays:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.001)


def _boot_time() -> float | None:
    try:
        with open("/proc/stat", "rb") as f:
            for line in f:
                if line.startswith(b"btime "):
                    return float(line.split()[1])
    except OSError:
        pass
    return None


def session_members(sessions: dict[int, float | None]) -> list[int]:
    """Live processes in any of `sessions` (session id -> the earliest wall time its processes may have
    started, or None). A process that started before that time is in a session whose id was reused."""
    boot = _boot_time()
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    me = os.getpid()
    found = []
    for pid in _all_pids():
        st = _stat(pid)
        if st is None or st[2] not in sessions or pid == me:
            continue
        not_before = sessions[st[2]]
        if not_before is not None and boot is not None and boot + st[3] / ticks < not_before:
            continue
        found.append(pid)
    return found


def end_sessions(sessions: dict[int, float | None], timeout: float = 10.0) -> list[int]:
    """SIGKILL every process of these sessions and wait until they are gone; the pids still alive after
    `timeout` (none, normally). Sessions whose processes cannot have started since boot are skipped."""
    boot = _boot_time()
    sessions = {sid: t for sid, t in sessions.items() if sid > 1 and (t is None or boot is None or t >= boot)}
    if not sessions:
        return []
    deadline = time.monotonic() + timeout
    while True:
        alive = session_members(sessions)
        for pid in alive:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.02)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
