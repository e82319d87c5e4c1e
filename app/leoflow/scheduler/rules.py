"""The task-instance state machine for one DAG run, as a pure function.

Given the serialized DAG and the run's task instances, decide which task
instances become scheduled, skipped or upstream_failed, which retries are due,
and whether the run is finished. No I/O: the scheduler loop applies the result.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

FINISHED = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
FAILED_LIKE = frozenset({"failed", "upstream_failed"})
SUCCESS_LIKE = frozenset({"success", "skipped"})
WAITING = frozenset({None, "none", ""})


@dataclass
class TIView:
    """The parts of a task instance row the rules read."""

    id: str
    task_id: str
    state: str | None
    try_number: int
    max_tries: int
    end_date: dt.datetime | None
    map_index: int = -1


@dataclass
class Decision:
    schedule: list[str] = field(default_factory=list)  # ids: none/up_for_retry → scheduled
    skip: list[str] = field(default_factory=list)
    upstream_failed: list[str] = field(default_factory=list)
    run_state: str | None = None  # "success" / "failed" when the run is over
    next_check: dt.datetime | None = None  # earliest moment a waiting retry becomes due

    @property
    def changed(self) -> bool:
        return bool(self.schedule or self.skip or self.upstream_failed or self.run_state)


def retry_due_at(task: dict, try_number: int, end_date: dt.datetime) -> dt.datetime:
    delay = float(task.get("retry_delay") or 0)
    if task.get("retry_exponential_backoff"):
        delay = delay * (2 ** max(try_number - 1, 0))
        cap = task.get("max_retry_delay")
        if cap is not None:
            delay = min(delay, float(cap))
    return end_date + dt.timedelta(seconds=delay)


def evaluate_trigger_rule(rule: str, upstream_states: list[str | None]) -> str:
    """'run', 'wait', 'skip' or 'upstream_failed' for a task whose upstreams are in these states."""
    n = len(upstream_states)
    if n == 0 or rule == "always":
        return "run"
    done = sum(1 for s in upstream_states if s in FINISHED)
    success = upstream_states.count("success")
    skipped = upstream_states.count("skipped")
    failed = sum(1 for s in upstream_states if s in FAILED_LIKE)
    all_done = done == n

    if rule == "all_success":
        if failed:
            return "upstream_failed"
        if skipped:
            return "skip"
        return "run" if success == n else "wait"
    if rule == "all_failed":
        if success or skipped:
            return "skip"
        return "run" if all_done else "wait"
    if rule == "all_done":
        return "run" if all_done else "wait"
    if rule == "all_skipped":
        if success or failed:
            return "skip"
        return "run" if all_done else "wait"
    if rule == "one_success":
        if success:
            return "run"
        if all_done:
            return "upstream_failed" if failed else "skip"
        return "wait"
    if rule == "one_failed":
        if failed:
            return "run"
        return "skip" if all_done else "wait"
    if rule == "one_done":
        if success or failed:
            return "run"
        return "skip" if all_done else "wait"
    if rule == "none_failed":
        if failed:
            return "upstream_failed"
        return "run" if all_done else "wait"
    if rule == "none_failed_min_one_success":
        if failed:
            return "upstream_failed"
        if all_done:
            return "run" if success else "skip"
        return "wait"
    if rule == "none_skipped":
        if skipped:
            return "skip"
        return "run" if all_done else "wait"
    raise ValueError(f"unknown trigger rule {rule!r}")


def decide(serialized: dict, tis: list[TIView], now: dt.datetime) -> Decision:
    """Run the rules to a fixed point: a skip or upstream_failed can unlock its downstream in the same pass."""
    tasks = {t["task_id"]: t for t in serialized["tasks"]}
    by_task: dict[str, list[TIView]] = {}
    for ti in tis:
        by_task.setdefault(ti.task_id, []).append(ti)
    state = {ti.id: ti.state for ti in tis}
    decision = Decision()

    def task_states(task_id: str) -> list[str | None]:
        return [state[t.id] for t in by_task.get(task_id, [])]

    changed = True
    while changed:
        changed = False
        for ti in tis:
            current = state[ti.id]
            task = tasks.get(ti.task_id)
            if task is None:
                continue
            if current == "up_for_retry":
                due = retry_due_at(task, ti.try_number, ti.end_date or now)
                if due <= now:
                    state[ti.id] = "scheduled"
                    decision.schedule.append(ti.id)
                    changed = True
                elif decision.next_check is None or due < decision.next_check:
                    decision.next_check = due
                continue
            if current not in WAITING:
                continue
            upstream: list[str | None] = []
            for up in task.get("upstream", []):
                upstream.extend(task_states(up))
            verdict = evaluate_trigger_rule(task.get("trigger_rule", "all_success"), upstream)
            if verdict == "wait":
                continue
            changed = True
            if verdict == "run":
                state[ti.id] = "scheduled"
                decision.schedule.append(ti.id)
            elif verdict == "skip":
                state[ti.id] = "skipped"
                decision.skip.append(ti.id)
            else:
                state[ti.id] = "upstream_failed"
                decision.upstream_failed.append(ti.id)

    decision.run_state = run_outcome(serialized, tis, state)
    return decision


def run_outcome(serialized: dict, tis: list[TIView], state: dict[str, str | None]) -> str | None:
    """success/failed once every task instance has finished; None while any is pending."""
    if any(state[ti.id] not in FINISHED for ti in tis):
        return None
    leaves = {t["task_id"] for t in serialized["tasks"] if not t.get("downstream")}
    leaf_states = [state[ti.id] for ti in tis if ti.task_id in leaves]
    if any(s in FAILED_LIKE for s in leaf_states):
        return "failed"
    return "success"
