"""Several executors at once, as Airflow 3 runs them: `LEOFLOW_EXECUTOR=local,agent` names the executors
of a deployment, the first is the default, and a task's `executor=` picks another by its alias
(`local`, `agent`, `kubernetes`) or its Airflow class name (`LocalExecutor`, `KubernetesExecutor`...).

The scheduler speaks to one `ExecutorRouter`; it asks which executor a task goes to (`pick`), and each
executor keeps its own slots. Every call that is about tries already handed out (running, exits, kill)
goes to all of them: an executor answers for its own tries only.
"""

from __future__ import annotations

import signal

# Airflow's executor names (short or with their module path) -> Leoflow's executor. Celery and edge
# workers are what Leoflow's agents replace, so a DAG written for them runs on agents unchanged.
ALIASES = {
    "local": "local",
    "localexecutor": "local",
    "sequentialexecutor": "local",
    "agent": "agent",
    "celeryexecutor": "agent",
    "edgeexecutor": "agent",
    "kubernetes": "kubernetes",
    "kubernetesexecutor": "kubernetes",
}
KNOWN = ("local", "agent", "kubernetes")


def executor_alias(name: str) -> str | None:
    """The Leoflow executor an Airflow executor name means (`a.b.KubernetesExecutor` -> kubernetes), or
    None for a name Leoflow has no executor for."""
    if not isinstance(name, str) or not name.strip():
        return None
    short = name.strip().rsplit(".", 1)[-1].split(":")[-1].lower()
    return ALIASES.get(short)


def parse_executor_setting(value: str) -> list[str]:
    """`LEOFLOW_EXECUTOR` as a list of aliases, each once, in order; a SystemExit message for a bad one."""
    names = [part.strip() for part in str(value).split(",") if part.strip()]
    if not names:
        raise SystemExit("leoflow: LEOFLOW_EXECUTOR names no executor; use one or more of "
                         f"{', '.join(KNOWN)} (comma-separated)")
    aliases: list[str] = []
    for name in names:
        alias = executor_alias(name)
        if alias is None:
            raise SystemExit(f"leoflow: LEOFLOW_EXECUTOR: {name!r} is not an executor Leoflow has; use one or "
                             f"more of {', '.join(KNOWN)} (comma-separated)")
        if alias not in aliases:
            aliases.append(alias)
    return aliases


class ExecutorRouter:
    """The executors of one scheduler, behind the interface the scheduler uses for one."""

    def __init__(self, executors: dict[str, object]):
        if not executors:
            raise ValueError("an ExecutorRouter needs at least one executor")
        self.executors = dict(executors)  # alias -> executor, the default first
        self.default = next(iter(self.executors))

    @property
    def name(self) -> str:
        """What the scheduler's job row records: every executor's Airflow-style name."""
        return ",".join(executor.name for executor in self.executors.values())

    def pick(self, task_executor: str | None):
        """The executor a task with `executor=task_executor` runs on; None when this deployment runs
        no such executor (the caller says so in the try's log)."""
        if not task_executor:
            return self.executors[self.default]
        return self.executors.get(executor_alias(task_executor) or "")

    def __iter__(self):
        return iter(self.executors.values())

    # --- the single-executor interface -------------------------------------------------------

    @property
    def on_event(self):
        return self._on_event

    @on_event.setter
    def on_event(self, callback) -> None:
        self._on_event = callback
        for executor in self:
            executor.on_event = callback

    @property
    def problem(self) -> str | None:
        problems = [p for p in (getattr(e, "problem", None) for e in self) if p]
        return "; ".join(problems) or None

    def free_slots(self) -> int:
        return sum(executor.free_slots() for executor in self)

    def running(self) -> list[dict]:
        return [workload for executor in self if hasattr(executor, "running") for workload in executor.running()]

    def drain_exits(self) -> list[dict]:
        return [event for executor in self for event in executor.drain_exits()]

    def kill(self, ti_id: str, try_number: int, reason: str | None = None, sig: int = signal.SIGKILL) -> bool:
        # Every executor is asked (no short cut): only the one holding the try knows it.
        killed = [executor.kill(ti_id, try_number, reason=reason, sig=sig) for executor in self]
        return any(killed)

    def end_leftovers(self, sessions: dict[int, float | None], timeout: float = 10.0) -> list[int]:
        """What earlier tries left running on this machine: only executors that run processes here know."""
        survivors: list[int] = []
        for executor in self:
            end = getattr(executor, "end_leftovers", None)
            if end is not None:
                survivors.extend(end(sessions, timeout))
        return survivors
