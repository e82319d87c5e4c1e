"""What the operating system says about a process tree: PSS and CPU time, from /proc."""

from __future__ import annotations

import os
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids.extend(int(p) for p in (task / "children").read_text().split())
        except OSError:
            pass
    return kids


def tree(pid: int) -> list[int]:
    """The process and every descendant (tasks forked by the fork server included)."""
    seen, todo = [], [pid]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.append(p)
        todo.extend(children(p))
    return seen


def pss_kib(pid: int) -> int:
    """Proportional set size: shared pages split between the processes sharing them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_pss_mb(pid: int) -> tuple[float, int]:
    """(PSS summed over the tree in MB, number of processes)."""
    pids = tree(pid)
    return sum(pss_kib(p) for p in pids) / 1024.0, len(pids)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (all its threads), not of its children."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def busy_cores(interval: float = 0.5) -> float:
    """How many cores the whole machine used over `interval`: the noise others add to a figure."""
    import time

    def total():
        parts = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        values = [int(v) for v in parts]
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)

    busy1, all1 = total()
    time.sleep(interval)
    busy2, all2 = total()
    return round((busy2 - busy1) / max(all2 - all1, 1) * os.cpu_count(), 2)


def tree_cpu_seconds(pid: int) -> float:
    """CPU of the process, its children and every child they have reaped (finished tasks included)."""
    total = 0.0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15]) / CLOCK_TICKS
    return total
