"""The task-instance state machine for one DAG run, as a pure function.

Given the serialized DAG and the run's task instances, decide which task
instances become scheduled, skipped or upstream_failed, which mapped tasks
expand (and into how many instances), which retries are due, and whether the
run is finished. No I/O: the scheduler loop applies the result.

The rules follow Airflow 3.2.1: trigger rules count upstream *task instances*
(a mapped upstream counts once per map index), setups upstream of a task must
succeed, a teardown waits for everything between its setups and itself, and a
run's state is decided by its leaves, where teardowns count only with
`on_failure_fail_dagrun`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from . import mapping

FINISHED = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
FAILED_LIKE = frozenset({"failed", "upstream_failed"})
SUCCESS_LIKE = frozenset({"success", "skipped"})
WAITING = frozenset({None, "none", ""})
# States in which a task instance is on its way: the run is not stuck while any exists.
ACTIVE = frozenset({"scheduled", "queued", "running", "up_for_retry", "up_for_reschedule", "deferred",
                    "restarting"})

TRIGGER_RULES = frozenset({
    "all_success", "all_failed", "all_done", "all_done_setup_success", "all_done_min_one_success",
    "all_skipped", "one_success", "one_failed", "one_done", "none_failed", "none_failed_min_one_success",
    "none_skipped", "always",
})


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
    remove: list[str] = field(default_factory=list)  # instances of tasks no longer in the DAG
    expand: dict[str, int] = field(default_factory=dict)  # placeholder TI id → number of map indexes (> 0)
    run_state: str | None = None  # "success" / "failed" when the run is over
    next_check: dt.datetime | None = None  # earliest moment a waiting retry becomes due
    deadlocked: bool = False  # nothing can ever run again, yet tasks are unfinished

    @property
    def changed(self) -> bool:
        return bool(self.schedule or self.skip or self.upstream_failed or self.remove or self.expand
                    or self.run_state)


def backoff_multiplier(task: dict) -> float:
    """`retry_exponential_backoff` is a bool (True = doubling) or, in Airflow 3.2, a multiplier."""
    value = task.get("retry_exponential_backoff")
    if value is True:
        return 2.0
    if not value:
        return 1.0
    return float(value)


MAX_RETRY_DELAY = 24 * 3600.0


def retry_due_at(task: dict, try_number: int, end_date: dt.datetime,
                 jitter_key: tuple[str, object] | None = None) -> dt.datetime:
    """When a failed try may run again. With exponential backoff the floor is
    `retry_delay * multiplier ** (try - 1)`; given `jitter_key` (dag_id, logical date) Leoflow adds
    Airflow's deterministic per-instance jitter (between 0 and the floor again), so retries come when
    Airflow's would."""
    delay = float(task.get("retry_delay") or 0)
    multiplier = backoff_multiplier(task)
    if multiplier != 1.0 and multiplier > 0:
        try:
            floor = max(math.ceil(delay * multiplier ** max(try_number - 1, 0)), 1)
        except OverflowError:
            floor = int(MAX_RETRY_DELAY)
        delay = float(floor)
        if jitter_key is not None:
            import hashlib

            dag_id, logical_date = jitter_key
            digest = hashlib.sha1(f"{dag_id}#{task['task_id']}#{logical_date}#{try_number}".encode(),
                                  usedforsecurity=False).hexdigest()
            delay = float(floor + int(digest, 16) % floor)
        cap = task.get("max_retry_delay")
        if cap is not None:
            delay = min(delay, float(cap))
    return end_date + dt.timedelta(seconds=delay)


@dataclass
class Counts:
    """Upstream task-instance states, counted as Airflow's trigger-rule dependency counts them."""

    upstream: int = 0
    success: int = 0
    skipped: int = 0
    failed: int = 0
    upstream_failed: int = 0
    removed: int = 0
    done: int = 0
    setups: int = 0
    success_setup: int = 0
    skipped_setup: int = 0

    def add(self, state: str | None, is_setup: bool = False) -> None:
        self.upstream += 1
        self.setups += is_setup
        if state not in FINISHED:
            return
        self.done += 1
        if state == "success":
            self.success += 1
            self.success_setup += is_setup
        elif state == "skipped":
            self.skipped += 1
            self.skipped_setup += is_setup
        elif state == "failed":
            self.failed += 1
        elif state == "upstream_failed":
            self.upstream_failed += 1
        elif state == "removed":
            self.removed += 1


def evaluate_trigger_rule(rule: str, upstream_states: list[str | None] | Counts,
                          setup_states: list[str | None] | None = None) -> str:
    """'run', 'wait', 'skip' or 'upstream_failed' for a task whose upstreams are in these states.

    `setup_states` are the states of those upstream instances that are setup tasks (they are also
    in `upstream_states`); only `all_done_setup_success` reads them.
    """
    if rule not in TRIGGER_RULES:
        raise ValueError(f"unknown trigger rule {rule!r}")
    if isinstance(upstream_states, Counts):
        c = upstream_states
    else:
        c = Counts()
        for s in upstream_states:
            c.add(s)
        for s in setup_states or []:
            c.setups += 1
            c.success_setup += s == "success"
            c.skipped_setup += s == "skipped"
    if c.upstream == 0 or rule == "always":
        return "run"
    failed = c.failed + c.upstream_failed
    all_done = c.done >= c.upstream

    if rule == "all_success":
        if failed:
            return "upstream_failed"
        if c.skipped:
            return "skip"
        return "run" if c.success + c.removed >= c.upstream else "wait"
    if rule == "all_failed":
        if c.success or c.skipped:
            return "skip"
        return "run" if all_done else "wait"
    if rule == "all_done":
        return "run" if all_done else "wait"
    if rule == "all_done_setup_success":
        if not all_done:
            return "wait"
        if c.setups and c.skipped_setup >= c.setups:
            return "skip"
        if c.setups and c.success_setup == 0:
            return "upstream_failed"
        return "run"
    if rule == "all_done_min_one_success":
        if c.skipped:
            return "skip"
        if c.success + failed + c.removed < c.upstream:
            return "wait"
        return "run" if c.success else "upstream_failed"
    if rule == "all_skipped":
        if c.success or failed:
            return "skip"
        return "run" if all_done else "wait"
    if rule == "one_success":
        if c.success:
            return "run"
        if all_done:
            return "skip" if c.done == c.skipped else "upstream_failed"
        return "wait"
    if rule == "one_failed":
        if failed:
            return "run"
        return "skip" if all_done else "wait"
    if rule == "one_done":
        if c.success or c.failed:
            return "run"
        return "skip" if all_done else "wait"
    if rule == "none_failed":
        if failed:
            return "upstream_failed"
        return "run" if all_done else "wait"
    if rule == "none_failed_min_one_success":
        if failed:
            return "upstream_failed"
        if c.skipped == c.upstream:
            return "skip"
        return "run" if all_done else "wait"
    # none_skipped
    if c.skipped:
        return "skip"
    return "run" if all_done else "wait"


class Graph:
    """Relations of the serialized DAG the rules need, computed once per document."""

    def __init__(self, serialized: dict):
        self.tasks: dict[str, dict] = {t["task_id"]: t for t in serialized["tasks"]}
        self.groups: dict = serialized.get("task_groups") or {}
        self.up = {tid: set(t.get("upstream", [])) & self.tasks.keys() for tid, t in self.tasks.items()}
        self.down: dict[str, set[str]] = {tid: set() for tid in self.tasks}
        for tid, ups in self.up.items():
            for u in ups:
                self.down[u].add(tid)
        self._ancestors: dict[str, set[str]] = {}
        self._descendants: dict[str, set[str]] = {}
        self.relevant_setups = {tid: self._relevant_setups(tid) for tid in self.tasks}
        self.teardown_scope = {tid: self._teardown_scope(tid) for tid in self.tasks
                               if self.tasks[tid].get("is_teardown")}
        self.leaves = self._effective_leaves()

    def _walk(self, start: str, edges: dict[str, set[str]], memo: dict[str, set[str]]) -> set[str]:
        if start in memo:
            return memo[start]
        seen: set[str] = set()
        stack = list(edges[start])
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(edges[node])
        memo[start] = seen
        return seen

    def ancestors(self, tid: str) -> set[str]:
        return self._walk(tid, self.up, self._ancestors)

    def descendants(self, tid: str) -> set[str]:
        return self._walk(tid, self.down, self._descendants)

    def is_setup(self, tid: str) -> bool:
        return bool(self.tasks[tid].get("is_setup"))

    def is_teardown(self, tid: str) -> bool:
        return bool(self.tasks[tid].get("is_teardown"))

    def _relevant_setups(self, tid: str) -> set[str]:
        """Setups upstream of a task that must succeed first: those with no teardown, or whose teardown
        is downstream of the task."""
        if self.is_teardown(tid):
            return set()
        later_teardowns = {d for d in self.descendants(tid) if self.is_teardown(d)}
        found = set()
        for a in self.ancestors(tid):
            if not self.is_setup(a):
                continue
            teardowns = {d for d in self.down[a] if self.is_teardown(d)}
            if not teardowns or teardowns & later_teardowns:
                found.add(a)
        return found

    def _teardown_scope(self, tid: str) -> set[str]:
        """Indirect upstreams of a teardown that lie downstream of one of its direct setups."""
        indirect = self.ancestors(tid) - self.up[tid]
        scope: set[str] = set()
        for setup in (u for u in self.up[tid] if self.is_setup(u)):
            scope |= indirect & self.descendants(setup)
        return scope

    def _effective_leaves(self) -> set[str]:
        def ignorable(tid: str) -> bool:
            return self.is_teardown(tid) and not self.tasks[tid].get("on_failure_fail_dagrun")

        leaves = {tid for tid in self.tasks
                  if all(ignorable(d) for d in self.down[tid]) and not ignorable(tid)}
        return leaves or {tid for tid in self.tasks if not self.down[tid]}


_GRAPHS: dict[int, tuple[dict, Graph]] = {}


def graph_of(serialized: dict) -> Graph:
    """The Graph of a document, cached while the same document object is in use (the scheduler caches them)."""
    key = id(serialized)
    hit = _GRAPHS.get(key)
    if hit is not None and hit[0] is serialized:
        return hit[1]
    g = Graph(serialized)
    if len(_GRAPHS) > 256:
        _GRAPHS.clear()
    _GRAPHS[key] = (serialized, g)
    return g


def decide(serialized: dict, tis: list[TIView], now: dt.datetime, *,
           task_map: dict[str, int] | None = None, xcom_counts: dict[str, int] | None = None,
           past_states: dict[tuple[str, int], str | None] | None = None,
           branch_results: dict[str, dict] | None = None,
           run_key: tuple[str, object] | None = None) -> Decision:
    """Run the rules to a fixed point: a skip or upstream_failed can unlock its downstream in the same pass.

    `task_map`: length of each unmapped task's pushed XCom result (task_map rows);
    `xcom_counts`: how many map indexes of a mapped task pushed a result;
    `past_states`: for tasks with depends_on_past, their instance states in the previous run
    (absent key: no previous instance, the dependency holds);
    `branch_results`: the `skipmixin_key` XCom of branch/short-circuit tasks that ran
    (`{"followed": [...]}` or `{"skipped": [...]}`): a task a finished branch did not follow is
    skipped, as Airflow's NotPreviouslySkippedDep does (it reaches map indexes the
    skip-downstream call cannot name);
    `run_key`: (dag_id, logical date) of the run, for Airflow's retry backoff jitter.
    """
    g = graph_of(serialized)
    task_map = task_map or {}
    xcom_counts = xcom_counts or {}
    by_task: dict[str, list[TIView]] = {}
    for ti in tis:
        by_task.setdefault(ti.task_id, []).append(ti)
    state = {ti.id: ti.state for ti in tis}
    decision = Decision()

    def length_of(task_id: str, key: str) -> int | None:
        task = g.tasks.get(task_id)
        instances = by_task.get(task_id, [])
        if task is None or not instances:
            return None
        if mapping.needs_expansion(task):
            if any(state[t.id] not in FINISHED or t.map_index < 0 for t in instances):
                return None  # not expanded, or not all of its map indexes are done
            return xcom_counts.get(task_id, 0)
        if state[instances[0].id] != "success":
            return None
        return task_map.get(task_id, 0)

    def relevant(ti: TIView, upstream_id: str) -> list[TIView]:
        """Upstream instances `ti` depends on: in a shared mapped group only the same map index."""
        instances = by_task.get(upstream_id, [])
        group = g.tasks[ti.task_id].get("mapped_group_id")
        if group and ti.map_index >= 0 and g.tasks[upstream_id].get("mapped_group_id") == group:
            return [u for u in instances if u.map_index in (ti.map_index, -1)]
        return instances

    def counts(ti: TIView, upstream_ids) -> Counts:
        c = Counts()
        for up in upstream_ids:
            for u in relevant(ti, up):
                c.add(state[u.id], g.is_setup(up))
        return c

    def skipped_by_branch(tid: str) -> bool:
        for up in g.up[tid]:
            result = (branch_results or {}).get(up)
            if not isinstance(result, dict) or any(state[u.id] not in FINISHED for u in by_task.get(up, [])):
                continue
            if "followed" in result and tid not in (result["followed"] or []):
                return True
            if "skipped" in result and tid in (result["skipped"] or []):
                return True
        return False

    def verdict_for(ti: TIView, task: dict) -> str:
        tid = ti.task_id
        if branch_results and skipped_by_branch(tid):
            return "skip"
        setups = g.relevant_setups[tid]
        indirect = setups - g.up[tid]
        if indirect:  # every setup this task relies on must have succeeded
            c = counts(ti, indirect)
            if c.failed or c.upstream_failed:
                return "upstream_failed"
            if c.skipped:
                return "skip"
            if c.success + c.removed < c.upstream:
                return "wait"
        verdict = evaluate_trigger_rule(task.get("trigger_rule") or "all_success", counts(ti, g.up[tid]))
        if verdict == "run" and tid in g.teardown_scope:
            scope = counts(ti, g.teardown_scope[tid])
            if scope.done < scope.upstream:
                return "wait"
        if verdict == "run" and past_states is not None and (task.get("depends_on_past")
                                                              or task.get("wait_for_downstream")):
            past = past_states.get((tid, ti.map_index), "success")
            waits = past not in SUCCESS_LIKE
            if task.get("wait_for_downstream"):  # ... and the previous run's direct downstream too
                waits = waits or any(s not in SUCCESS_LIKE for (t, _), s in past_states.items() if t in g.down[tid])
            if waits:
                return "wait"
        return verdict

    changed = True
    while changed:
        changed = False
        for ti in tis:
            current = state[ti.id]
            task = g.tasks.get(ti.task_id)
            if task is None:  # the task left the DAG: its waiting instance is removed, as in Airflow
                if current in WAITING:
                    state[ti.id] = "removed"
                    decision.remove.append(ti.id)
                    changed = True
                continue
            if ti.id in decision.expand:
                continue
            if current == "up_for_retry":
                due = retry_due_at(task, ti.try_number, ti.end_date or now, run_key)
                if due <= now:
                    state[ti.id] = "scheduled"
                    decision.schedule.append(ti.id)
                    changed = True
                elif decision.next_check is None or due < decision.next_check:
                    decision.next_check = due
                continue
            if current not in WAITING:
                continue
            if ti.map_index < 0 and mapping.needs_expansion(task):
                n = mapping.task_length(task, g.groups, length_of)
                if n is not None:
                    changed = True
                    if n > 0:
                        decision.expand[ti.id] = n
                    else:  # mapped over nothing: Airflow skips the task
                        state[ti.id] = "skipped"
                        decision.skip.append(ti.id)
                    continue
            verdict = verdict_for(ti, task)
            if verdict == "run" and ti.map_index < 0 and mapping.needs_expansion(task):
                # The rule lets it run (e.g. all_done) but there is no length to expand by: its source
                # failed or pushed nothing. There is nothing to map over.
                sources = mapping.xcom_sources(task, g.groups)
                if all(state[u.id] in FINISHED for s in sources for u in by_task.get(s, [])):
                    verdict = "upstream_failed"
                else:
                    continue
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

    if decision.expand:
        return decision  # the loop adds the new instances, then asks again
    decision.run_state = run_outcome(g, tis, state)
    if decision.run_state is None and not any(state[ti.id] in ACTIVE for ti in tis) \
            and not _waits_on_others(g, [ti for ti in tis if state[ti.id] not in FINISHED]):
        decision.deadlocked = True  # nothing runs and nothing can start: Airflow fails such a run
        decision.run_state = "failed"
    return decision


def _waits_on_others(g: Graph, unfinished: list[TIView]) -> bool:
    """Tasks that may wait on other runs (depends_on_past, max_active_tis_*): Airflow never declares such
    a run deadlocked, it waits."""
    keys = ("depends_on_past", "wait_for_downstream", "max_active_tis_per_dag", "max_active_tis_per_dagrun")
    return any(g.tasks.get(ti.task_id, {}).get(k) for ti in unfinished for k in keys)


def run_outcome(serialized_or_graph, tis: list[TIView], state: dict[str, str | None]) -> str | None:
    """success/failed once every task instance has finished; None while any is pending."""
    if any(state[ti.id] not in FINISHED for ti in tis):
        return None
    g = serialized_or_graph if isinstance(serialized_or_graph, Graph) else graph_of(serialized_or_graph)
    leaf_states = [state[ti.id] for ti in tis if ti.task_id in g.leaves and state[ti.id] != "removed"]
    if any(s in FAILED_LIKE for s in leaf_states):
        return "failed"
    return "success"
