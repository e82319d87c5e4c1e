"""The scheduler: reacts to events and does work in proportion to what changed.

A wake-up on the bus (task finished, run triggered, DAG changed) names the
runs to look at; only those are evaluated. A slower periodic sweep looks at
every unfinished run, so a lost wake-up only delays, never loses, work.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
import time

from sqlalchemy import and_, bindparam, exists, func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from .. import metrics
from ..bus import SCHEDULER_QUEUE
from ..executors.router import ExecutorRouter
from ..runner.logfile import UnsafeLogPath, log_relative_path, resolve_log_path
from ..services import Services
from ..store import audit, dags as dag_store, held_runs, jobs, runs, tis
from ..store.tables import dag, dag_run
from ..store.types import utcnow
from . import rules, timetables, try_log
from ..store import reschedules
from ..store.engine import without_waiting_for_disk
from . import assets as asset_runs, waits
from .callbacks import DagCallbacks
from .leadership import NotLeader, SoleLeader
from .triggerer import Triggerer

log = logging.getLogger(__name__)

# The safety net for lost wake-ups: every 5 s the runs that changed since their last decision (and
# queued runs, which may start when another ends); every 60 s every unfinished run. Time-based
# conditions come back from rules.decide as next_check wake-ups, not from these sweeps.
SWEEP_INTERVAL = 5.0
FULL_SWEEP_INTERVAL = 60.0
ZOMBIE_CHECK_INTERVAL = 5.0
# A big run costs its size on every evaluation: one with this many task instances is evaluated again at
# most once per BIG_RUN_DUTY × its last evaluation's cost (so ≤ 1/(1+BIG_RUN_DUTY) of the scheduler's
# time), and the tasks that finished meanwhile are decided together. Smaller runs never wait.
BIG_RUN_TIS = 200
BIG_RUN_DUTY = 3.0
BIG_RUN_MAX_DELAY = 0.25
JOB_HEARTBEAT_INTERVAL = 5.0
# When no scheduled run is due, the soonest due time is looked up at most this often (and again at once when
# DAG files changed or a DAG was unpaused): passes that decide tasks do not each ask for scheduled runs.
SCHEDULED_LOOK_INTERVAL = 1.0
LEASE_RENEW_INTERVAL = 1.0  # a leader renews its lease this often (the lease lasts leadership.LEASE_SECONDS)
STANDBY_POLL_INTERVAL = 0.5  # a standby asks for the lease this often
_DAG_LIMITS = select(dag.c.is_paused, dag.c.max_active_runs).where(dag.c.dag_id == bindparam("dag_id"))


class Scheduler:
    def __init__(self, services: Services, executor, *, token_secret: str, create_scheduled_runs: bool = True,
                 leadership=None, run_triggers: bool = True):
        self.services = services
        # Who may commit decisions: every decision transaction goes through `self.leadership.begin()`.
        self.leadership = leadership or SoleLeader(services.engine)
        self._last_renewal = float("-inf")
        self._exits_to_record: list[dict] = []  # exits of tries whose recording the database refused
        self.run_triggers = run_triggers
        self.create_scheduled_runs = create_scheduled_runs
        if not isinstance(executor, ExecutorRouter):  # one executor given (dags test, tests): the only one
            executor = ExecutorRouter({"local": executor})
        self.executor = executor
        self.token_secret = token_secret
        self.job_id: int | None = None
        self.stop = threading.Event()
        self._serialized_cache: dict[str, dict] = {}
        self._dirty: set[tuple[str, str]] = set()
        self._wakeups: dict[tuple[str, str], dt.datetime] = {}  # retries due later
        self._held: dict[tuple[str, str], float] = {}  # big runs' next evaluation (monotonic)
        self._big_cost: dict[tuple[str, str], tuple[float, float]] = {}  # big run -> (evaluated at, cost)
        self._last_sweep = 0.0
        self._last_full_sweep = 0.0
        self._last_zombie_check = 0.0
        self._last_heartbeat = 0.0
        self.stats = {"runs_evaluated": 0, "tis_evaluated": 0}
        # `leoflow dags test`'s scheduler serves its one run and nothing else; every other scheduler serves
        # every run but the ones such a process holds (store/held_runs.py).
        self.only_run: tuple[str, str] | None = None
        self._queue_backlog = True  # scheduled task instances may be waiting for a slot
        self._just_scheduled = False  # this pass marked some scheduled: queueing need not look whether any are
        self._queued_with_decision = False  # the pass's last run queued in its own transaction
        self._scheduled_look_at = 0.0  # monotonic time of the next look for due scheduled runs
        self.queueing = True  # False while lite shuts down: running tries finish, no new ones start
        self._told_zombies: set[tuple[str, int]] = set()  # tries ended for missing heartbeats, exit pending
        executor.on_event = lambda: services.bus.notify_scheduler(kind="executor_event")
        self.triggerer = Triggerer(services)  # deferred tasks' triggers
        forkserver = next((e.forkserver for e in executor if getattr(e, "forkserver", None)), None)
        self.callbacks = DagCallbacks(forkserver, services.settings)

    # --- lifecycle ------------------------------------------------------------

    def serve_only(self, dag_id: str, run_id: str) -> None:
        """Schedule, queue, time out and recover this one run's task instances, and no others'."""
        self.only_run = (dag_id, run_id)
        self.triggerer.serve_only(dag_id, run_id)

    def _others(self, conn, now: dt.datetime):
        """Which (dag_id, run_id) are not this scheduler's to touch (asked only when there is something to
        touch: the held runs are read at the first question)."""
        if self.only_run is not None:
            return lambda key: key != self.only_run
        held: list[set] = []

        def others(key) -> bool:
            if not held:
                held.append(held_runs.held_runs(conn, now))
            return key in held[0]

        return others

    def start_job(self) -> int:
        self.job_id = jobs.start_job(self.services.engine, "SchedulerJob", self.executor.name)
        return self.job_id

    def recover_orphans(self) -> None:
        """Task instances handed out by a process that no longer exists: queued → again, running → zombie.

        Lite holds the home's lock, so every active task instance of another job is an orphan. What their
        processes left running on this machine is ended first: a retry never runs beside its previous try.
        """
        with self.services.engine.connect() as conn:
            orphans = tis.active_tis_of_other_jobs(conn, self.job_id)
            if orphans:
                others = self._others(conn, utcnow())
                orphans = [ti for ti in orphans if not others((ti.dag_id, ti.run_id))]
        if not orphans:
            return
        alive = self._end_processes_of([ti for ti in orphans if ti.state != "queued"])
        with self.services.engine.begin() as conn:
            for ti in orphans:
                if ti.id in alive:
                    continue  # still running somewhere: the zombie check tries again
                if ti.state == "queued":
                    tis.reset_to_scheduled(conn, ti.id)
                elif ti.state == "restarting":
                    tis.restart_cleared(conn, ti.id)
                else:
                    self._fail_or_retry(conn, ti, "its process ended with the previous Leoflow process "
                                                  "(Leoflow was restarted)")
                self._dirty.add((ti.dag_id, ti.run_id))

    def _end_processes_of(self, tries) -> set[str]:
        """End what `tries` left running on this machine (their runners led their own sessions); the ids
        of those whose processes are still alive after that."""
        end = getattr(self.executor, "end_leftovers", None)
        host = socket.gethostname()
        mine = [ti for ti in tries if ti.pid and ti.hostname == host]
        if end is None or not mine:
            return set()
        # A process that started before its try did is not the try's: its session id was reused.
        slack = dt.timedelta(seconds=10)
        sessions = {ti.pid: (ti.start_date - slack).timestamp() if ti.start_date else None for ti in mine}
        survivors = end(sessions)
        if not survivors:
            return set()
        log.error("Processes %s of earlier tries did not end when killed; those tries are not retried yet",
                  survivors)
        return {ti.id for ti in mine}

    def run_forever(self) -> None:
        if self.job_id is None:
            self.start_job()
        self._dirty.update(self._unfinished_runs())
        while not self.stop.is_set():
            try:
                self.tick()
            except NotLeader:
                self._stand_by()
            except Exception:
                log.exception("Scheduler loop failed; continuing")
                time.sleep(0.5)
            if self.leadership.is_leader:
                self._wait()
            else:
                self.stop.wait(STANDBY_POLL_INTERVAL)

    def _lead(self) -> bool:
        """Renew (or take) the lease when due; on taking it, start from what the database says."""
        mono = time.monotonic()
        was = self.leadership.is_leader
        if was and mono - self._last_renewal < LEASE_RENEW_INTERVAL:
            return True
        leading = self.leadership.renew()
        self._last_renewal = mono
        if leading and not was:
            self._took_over()
        elif was and not leading:
            self._stand_by()
        return leading

    def _took_over(self) -> None:
        """This scheduler now leads: whatever it remembered may be stale; every unfinished run is looked at."""
        self._serialized_cache.clear()
        self._wakeups.clear()
        self._held.clear()
        self._big_cost.clear()
        self._scheduled_look_at = 0.0
        self._dirty = set(self._unfinished_runs())
        self._queue_backlog = True
        self._last_zombie_check = 0.0

    def _stand_by(self) -> None:
        """Another scheduler leads: its triggerer runs the triggers."""
        if self.triggerer.running_count():
            self.triggerer.stop()

    def _wait(self) -> None:
        timeout = self.services.settings.scheduler_poll_interval
        if self._wakeups:
            soonest = min(self._wakeups.values())
            timeout = max(0.0, min(timeout, (soonest - utcnow()).total_seconds()))
        if self._held:
            timeout = max(0.0, min(timeout, min(self._held.values()) - time.monotonic()))
        if self._dirty:
            timeout = 0.0
        whole_dags = set()
        for event in self.services.bus.wait(SCHEDULER_QUEUE, timeout) if timeout > 0 else []:
            if event.get("kind") in ("dags_changed", "dag_unpaused"):  # a schedule may be due sooner now
                self._scheduled_look_at = 0.0
            if event.get("dag_id") and event.get("run_id"):
                self._dirty.add((event["dag_id"], event["run_id"]))
            elif event.get("dag_id"):  # e.g. unpaused: its queued runs may start now
                whole_dags.add(event["dag_id"])
        if whole_dags:
            with self.services.engine.connect() as conn:
                for dag_id in whole_dags:
                    self._dirty.update((r.dag_id, r.run_id) for r in runs.unfinished_runs(conn, dag_id))

    # --- one pass -------------------------------------------------------------

    def tick(self) -> None:
        started = time.perf_counter()
        try:
            self._tick()
        finally:
            metrics.scheduler_pass(time.perf_counter() - started, leader=self.leadership.is_leader)
            if metrics.enabled():
                for executor in self.executor:
                    running = len(executor.running()) if hasattr(executor, "running") else 0
                    metrics.executor_slots(executor.name, executor.free_slots(), running)

    def _tick(self) -> None:
        now = utcnow()
        mono = time.monotonic()
        if mono - self._last_heartbeat > JOB_HEARTBEAT_INTERVAL and self.job_id:
            jobs.heartbeat(self.services.engine, self.job_id)
            self._last_heartbeat = mono
        self._handle_executor_exits()  # facts about this process's own tasks, leading or not
        if not self._lead():
            return
        if self.run_triggers:
            self._dirty.update(self.triggerer.sync())
        if mono - self._last_zombie_check > ZOMBIE_CHECK_INTERVAL:
            self._find_zombies(now)
            self._last_zombie_check = mono
        if self.create_scheduled_runs:
            self._create_scheduled_runs(now)
            self._dirty.update(asset_runs.create_asset_triggered_runs(self.leadership, now))
        if self.only_run is not None:
            self._dirty.add(self.only_run)
            self._dirty = {key for key in self._dirty if key == self.only_run}
        elif mono - self._last_full_sweep > FULL_SWEEP_INTERVAL:
            self._dirty.update(self._unfinished_runs())
            self._last_sweep = self._last_full_sweep = mono
        elif mono - self._last_sweep > SWEEP_INTERVAL:
            self._dirty.update(self._runs_changed_since_decided())
            self._last_sweep = mono
        for key, due in list(self._wakeups.items()):
            if due <= now:
                self._dirty.add(key)
                del self._wakeups[key]
        dirty, self._dirty = self._dirty, set()
        for key, due in list(self._held.items()):
            if due <= mono:
                dirty.add(key)
                del self._held[key]
        ordered = sorted(dirty)
        self._queued_with_decision = False
        for n, key in enumerate(ordered):
            last = self._big_cost.get(key)
            if last is not None:
                due = last[0] + min(BIG_RUN_DUTY * last[1], BIG_RUN_MAX_DELAY)
                if due > time.monotonic():
                    self._held[key] = min(due, self._held.get(key, due))
                    continue
            # The last run of the pass queues what can start in its own transaction: one commit, not two.
            self._evaluate_timed(key, now, then_queue=n == len(ordered) - 1 and self.queueing)
        # Only look for task instances to queue when some may have become queueable: a run was
        # evaluated, a slot was freed while some waited, or the last look left some behind.
        if (dirty or self._queue_backlog) and self.queueing and not self._queued_with_decision:
            self.queue_tasks()

    def _evaluate_timed(self, key: tuple[str, str], now: dt.datetime, *, then_queue: bool = False) -> None:
        """Evaluate one run, remembering the cost of big ones (see BIG_RUN_TIS)."""
        before = self.stats["tis_evaluated"]
        started = time.monotonic()
        state = self.evaluate_run(key[0], key[1], now, then_queue=then_queue)
        ended = time.monotonic()
        if state in ("queued", "running") and self.stats["tis_evaluated"] - before >= BIG_RUN_TIS:
            self._big_cost[key] = (ended, ended - started)
        else:
            self._big_cost.pop(key, None)

    def _runs_changed_since_decided(self) -> set[tuple[str, str]]:
        """Queued runs, and running runs with a task instance updated after the run's last decision:
        10,000 task instances waiting on a full pool cost one indexed query here, not a re-evaluation."""
        ti = tis.TI
        changed = exists().where(ti.c.dag_id == dag_run.c.dag_id, ti.c.run_id == dag_run.c.run_id,
                                 ti.c.updated_at > dag_run.c.last_scheduling_decision)
        with self.services.engine.connect() as conn:
            rows = conn.execute(select(dag_run.c.dag_id, dag_run.c.run_id).where(or_(
                dag_run.c.state == "queued",
                and_(dag_run.c.state == "running",
                     or_(dag_run.c.last_scheduling_decision.is_(None), changed))))).all()
        return {(r.dag_id, r.run_id) for r in rows}

    def _unfinished_runs(self) -> set[tuple[str, str]]:
        with self.services.engine.connect() as conn:
            return {(r.dag_id, r.run_id) for r in runs.unfinished_runs(conn)}

    # --- DAG runs ---------------------------------------------------------------

    def _serialized(self, conn, version_id: str | None, dag_id: str) -> dict | None:
        if version_id and version_id in self._serialized_cache:
            return self._serialized_cache[version_id]
        data = dag_store.serialized_by_version(conn, version_id) if version_id else None
        if data is None:
            latest = dag_store.latest_serialized(conn, dag_id)
            if latest is None:
                return None
            version_id, data = latest
        self._serialized_cache[version_id] = data
        return data

    def _create_scheduled_runs(self, now: dt.datetime) -> None:
        mono = time.monotonic()
        if mono < self._scheduled_look_at:
            return
        active = (dag.c.is_paused.is_(False), dag.c.is_stale.is_(False))
        # Most passes find nothing due: a read, not a write transaction that waits its turn with the API's.
        with self.services.engine.connect() as conn:
            soonest = conn.execute(select(func.min(dag.c.next_dagrun_create_after)).where(*active)).scalar()
        if soonest is None or soonest > now:
            wait = SCHEDULED_LOOK_INTERVAL if soonest is None else (soonest - now).total_seconds()
            self._scheduled_look_at = mono + min(wait, SCHEDULED_LOOK_INTERVAL)
            return
        due_query = select(dag.c.dag_id, dag.c.next_dagrun, dag.c.next_dagrun_create_after,
                           dag.c.next_dagrun_data_interval_start,  # real intervals
                           dag.c.next_dagrun_data_interval_end).where(*active, dag.c.next_dagrun_create_after <= now)
        with self.leadership.begin() as conn:
            due = conn.execute(due_query).all()
            for row in due:
                latest = dag_store.latest_serialized(conn, row.dag_id)
                if latest is None:
                    continue
                version_id, data = latest
                if timetables.only_one_active(data) and runs.unfinished_runs(conn, row.dag_id):
                    continue
                nxt = timetables.NextRun(row.next_dagrun, row.next_dagrun_create_after,
                                         (row.next_dagrun_data_interval_start or row.next_dagrun,
                                          row.next_dagrun_data_interval_end or row.next_dagrun))
                try:
                    created = runs.create_dag_run(conn, data, dag_version_id=version_id, run_type="scheduled",
                                                  run_after=nxt.run_after, logical_date=nxt.logical_date,
                                                  data_interval=nxt.data_interval, triggered_by="timetable")
                    self._dirty.add((row.dag_id, created["run_id"]))
                except runs.RunExists:
                    pass
                dag_store.set_next_run(conn, row.dag_id, timetables.next_run(data, nxt.logical_date, now))

    def evaluate_run(self, dag_id: str, run_id: str, now: dt.datetime, *, then_queue: bool = False) -> str | None:
        """Apply the state machine to one run, in one transaction. Returns the run's state.

        With `then_queue`, a run that goes on also queues every try that can start now (of any run) in that
        transaction, and hands them to the executors once it committed (`_queued_with_decision` says so)."""
        workloads: list = []
        state = self._evaluate_run(dag_id, run_id, now, workloads if then_queue else None)
        self._submit(workloads)  # committed: a transaction that failed raised above, and its tries stay scheduled
        return state

    def _evaluate_run(self, dag_id: str, run_id: str, now: dt.datetime, workloads: list | None) -> str | None:
        with self.leadership.begin() as conn:
            run = runs.get_run(conn, dag_id, run_id)
            if run is None or run.state not in ("queued", "running"):
                return run.state if run else None
            if (self.only_run is not None and (dag_id, run_id) != self.only_run) or (
                    self.only_run is None and held_runs.is_held(conn, run, now, by_job=self.job_id)):
                return run.state  # another process's to decide
            serialized = self._serialized(conn, run.created_dag_version_id, dag_id)
            if serialized is None:
                return run.state
            if run.state == "queued":  # only a run that has yet to start looks at its DAG's pause and limit
                dag_row = conn.execute(_DAG_LIMITS, {"dag_id": dag_id}).first()
                if dag_row is None or dag_row.is_paused:
                    return run.state
                active = conn.execute(select(func.count()).select_from(dag_run).where(
                    dag_run.c.dag_id == dag_id, dag_run.c.state == "running")).scalar()
                if dag_row.max_active_runs and active >= dag_row.max_active_runs:
                    return run.state
                runs.set_run_state(conn, dag_id, run_id, "running", start_date=now)
                self.callbacks.run_state_changed(run, "running", conn=conn, start_date=now)
            found = tis.decision_rows_and_branches(conn, dag_id, run_id)
            hold = waits.before_decide(conn, serialized, run, now,  # reschedules, dagrun_timeout
                                       poking=any(r[tis.DECISION_STATE] == "up_for_reschedule" for r in found[0]))
            if hold.timed_out:
                return self._finish_run(conn, serialized, run, "failed", now, reason="timed_out")
            waits.merge_wakeup(self._wakeups, (dag_id, run_id), hold.next_check)
            rows, decision = self._decide(conn, serialized, dag_id, run_id, now, logical_date=run.logical_date,
                                          found=None if hold.rescheduled else found)
            retrying = [r.id for r in rows if r.state == "up_for_retry" and r.id in decision.schedule]
            for ti_id in retrying:
                tis.record_history(conn, ti_id)
                reschedules.clear(conn, ti_id)  # a new try's sensor timeout starts afresh
            tis.set_scheduled(conn, decision.schedule, now)
            self._just_scheduled = self._just_scheduled or bool(decision.schedule)
            self._reweigh_retries(conn, serialized, [r for r in rows if r.id in retrying])
            tis.set_finished_without_running(conn, decision.skip, "skipped", now)
            tis.set_finished_without_running(conn, decision.upstream_failed, "upstream_failed", now)
            tis.set_finished_without_running(conn, decision.remove, "removed", now)
            if decision.next_check:
                waits.merge_wakeup(self._wakeups, (dag_id, run_id), decision.next_check)  # keep sooner
            if decision.run_state:
                self.callbacks.run_finished(serialized, run, decision.run_state,
                                            "success" if decision.run_state == "success" else "task_failure",
                                            conn=conn)
                runs.set_run_state(conn, dag_id, run_id, decision.run_state, end_date=now,
                                   last_scheduling_decision=now)
                audit.record(conn, f"dagrun_{decision.run_state}", dag_id=dag_id, run_id=run_id)
                log.info("DAG run %s of %s finished: %s", run_id, dag_id, decision.run_state)
                return decision.run_state
            runs.update_run(conn, dag_id, run_id, last_scheduling_decision=now)
            if workloads is not None:
                chosen = self._queue_in(conn, now)
                if chosen is not None:
                    self._queued_with_decision = True
                    workloads.extend(chosen)
            # Nothing here is acted on outside this scheduler but through a commit that waits for the disk (a
            # try's running transition, see _queue_in): lost in a Postgres crash, the next pass decides it again.
            without_waiting_for_disk(conn)
        return "running"

    def _decide(self, conn, serialized: dict, dag_id: str, run_id: str, now: dt.datetime, *, logical_date,
                found=None):
        """The rules' decision for a run, after expanding the mapped tasks whose lengths became known.
        `found`: the run's decision rows and branch results read in this transaction and still current."""
        from ..store import task_map
        from . import mapping

        depends = [t["task_id"] for t in serialized["tasks"]
                   if t.get("depends_on_past") or t.get("wait_for_downstream")]
        depends += [d for t in serialized["tasks"] if t.get("wait_for_downstream") for d in t.get("downstream", [])]
        past = tis.past_states(conn, dag_id, run_id, depends) if depends else None
        for _ in range(len(serialized["tasks"]) + 1):  # each pass expands at least one task, or is final
            given, found = found, None  # read here again after an expansion changed the rows
            ti_rows, branches = given or tis.decision_rows_and_branches(conn, dag_id, run_id)
            rows = views = [rules.TIView(*r) for r in ti_rows]
            self.stats["runs_evaluated"] += 1
            self.stats["tis_evaluated"] += len(rows)
            mapped = any(mapping.needs_expansion(t) for t in serialized["tasks"])
            decision = rules.decide(serialized, views, now,
                                    task_map=task_map.lengths_of_run(conn, dag_id, run_id) if mapped else None,
                                    xcom_counts=task_map.result_counts_of_run(conn, dag_id, run_id) if mapped else None,
                                    past_states=past,
                                    branch_results=branches,
                                    run_key=(dag_id, logical_date))
            if not decision.expand:
                break
            tasks_by_id = {t["task_id"]: t for t in serialized["tasks"]}
            by_id = {r.id: r for r in rows}
            for ti_id, length in decision.expand.items():
                tis.expand_mapped(conn, ti_id, tasks_by_id[by_id[ti_id].task_id], length, now)
            # Skips decided in the same pass (zero-length expansions) are applied now; the rest is re-decided.
            tis.set_finished_without_running(conn, decision.skip, "skipped", now)
        if decision.deadlocked:
            log.warning("DAG run %s of %s is deadlocked: unfinished tasks can never run", run_id, dag_id)
        return rows, decision

    def _finish_run(self, conn, serialized, run, state: str, now, *, reason: str) -> str:
        runs.set_run_state(conn, run.dag_id, run.run_id, state, end_date=now, last_scheduling_decision=now)
        audit.record(conn, f"dagrun_{state}", dag_id=run.dag_id, run_id=run.run_id, extra=reason)
        log.info("DAG run %s of %s finished: %s (%s)", run.run_id, run.dag_id, state, reason)
        self.callbacks.run_finished(serialized, run, state, reason, conn=conn)
        return state

    # --- queueing -------------------------------------------------------------

    def _reweigh_retries(self, conn, serialized: dict, retried) -> None:
        """A custom weight rule may weigh later tries differently (`weight_by_try`)."""
        for row in retried:
            weights = self._task_doc(serialized, row.task_id).get("weight_by_try")
            if weights:
                tis.set_priority(conn, row.id, weights[min(row.try_number, len(weights) - 1)])

    def _task_doc(self, serialized: dict, task_id: str) -> dict:
        index = serialized.get("_leoflow_task_index")
        if index is None:  # the cached document is shared: index its tasks once
            index = serialized["_leoflow_task_index"] = {t["task_id"]: t for t in serialized["tasks"]}
        return index.get(task_id, {})

    def queue_tasks(self) -> int:
        """Queue what can start now in a transaction of its own; how many tries were handed out."""
        if self._free_slots() is None:
            return 0
        just_scheduled, self._just_scheduled = self._just_scheduled, False
        if not just_scheduled:
            with self.services.engine.connect() as conn:  # nothing scheduled: no write transaction to wait for
                if not tis.any_scheduled(conn):
                    return 0
        with self.leadership.begin() as conn:
            workloads = self._queue_in(conn, utcnow()) or []
        return self._submit(workloads)

    def _free_slots(self) -> dict | None:
        """Free slots by executor; None (and a look again when a slot frees) when there are none."""
        slots = {id(executor): executor.free_slots() for executor in self.executor}
        if sum(slots.values()) <= 0:
            self._queue_backlog = True
            return None
        return slots

    def _submit(self, workloads: list) -> int:
        """Hand committed queued tries to their executors."""
        if workloads:
            attempt = workloads[0][2].isoformat()  # = queued_dttm; tells pokes/resumes of one try apart
            for target, workload, _now in workloads:
                target.submit(workload, attempt=attempt)
        return len(workloads)

    def _queue_in(self, conn, now: dt.datetime) -> list | None:
        """Mark queued, in `conn`'s decision transaction, the scheduled tries that can start now (pools, runs',
        tasks' and executors' limits); their (executor, workload, now) to submit once it committed. None
        when no executor has a free slot."""
        slots = self._free_slots()
        if slots is None:
            return None
        self._queue_backlog = False
        self._just_scheduled = False
        free = sum(slots.values())
        from ..executors.workload import execute_task

        workloads = []
        settings = self.services.settings
        room = tis.pool_room(conn)
        pool_limits = {pool: slots for pool, (slots, _used) in room.items()}
        pool_used = {pool: used for pool, (_slots, used) in room.items()}
        active = tis.active_count_by_run(conn)
        run_active = {key: n for key, (n, _limit) in active.items()}
        dag_limits: dict[str, int] = {key[0]: limit or 16 for key, (_n, limit) in active.items()}
        # Only what could start now enters the window: 10,000 waiting on a full pool must not hide the rest.
        open_pools = [p for p, n in pool_limits.items() if pool_used.get(p, 0) < n]
        full_runs = [key for key, n in run_active.items() if n >= dag_limits.get(key[0], 16)]
        candidates = tis.scheduled_candidates(conn, limit=free * 4, pools=open_pools, full_runs=full_runs,
                                              only_run=self.only_run)
        if not candidates:
            return []
        task_active = task_run_active = None  # max_active_tis_per_dag(run) counts, read once if needed
        for ti in candidates:
            if len(workloads) >= free:
                break
            limit = pool_limits.get(ti.pool)
            if limit is None or pool_used.get(ti.pool, 0) + ti.pool_slots > limit:
                continue
            if ti.dag_id not in dag_limits:
                dag_limits[ti.dag_id] = ti.max_active_tasks or 16
            if run_active.get((ti.dag_id, ti.run_id), 0) >= dag_limits[ti.dag_id]:
                continue
            serialized = self._serialized(conn, ti.dag_version_id, ti.dag_id)
            if serialized is None:
                continue
            doc = self._task_doc(serialized, ti.task_id)
            target = self.executor.pick(doc.get("executor"))
            if target is None:  # a task for an executor this deployment does not run
                self._refuse_executor(conn, ti, doc.get("executor"), now)
                continue
            if slots[id(target)] <= 0:
                continue
            per_dag, per_run = doc.get("max_active_tis_per_dag"), doc.get("max_active_tis_per_dagrun")
            if task_active is None and (per_dag is not None or per_run is not None):
                task_active, task_run_active = tis.active_count_by_task(conn)
            if per_dag is not None and task_active.get((ti.dag_id, ti.task_id), 0) >= per_dag:
                continue
            if per_run is not None and task_run_active.get((ti.dag_id, ti.run_id, ti.task_id), 0) >= per_run:
                continue
            log_path = log_relative_path(ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.try_number)
            try:
                resolve_log_path(settings.logs_folder, log_path)
            except UnsafeLogPath as exc:  # ids no API accepts (a row written into the database by hand)
                self._refuse_unsafe(conn, ti, str(exc), now)
                continue
            if not tis.set_queued(conn, ti.id, self.job_id, target.name, now):
                continue
            slots[id(target)] -= 1
            pool_used[ti.pool] = pool_used.get(ti.pool, 0) + ti.pool_slots
            run_active[(ti.dag_id, ti.run_id)] = run_active.get((ti.dag_id, ti.run_id), 0) + 1
            if task_active is not None:
                task_active[(ti.dag_id, ti.task_id)] = task_active.get((ti.dag_id, ti.task_id), 0) + 1
                key = (ti.dag_id, ti.run_id, ti.task_id)
                task_run_active[key] = task_run_active.get(key, 0) + 1
            # Workers that fetch the DAG code (agents) get the run's bundle; the others read the folder.
            version = target.bundle_version(conn, ti) if hasattr(target, "bundle_version") else None
            workloads.append((target, execute_task(ti, serialized["fileloc"], dags_folder=settings.dags_folder,
                                                   token_secret=self.token_secret, bundle_version=version),
                              now))
        # More may wait beyond the window or the free slots; those skipped for a full pool or run
        # become queueable when a task finishes, and that event makes this pass run again.
        self._queue_backlog = len(candidates) >= free * 4 or len(workloads) >= free
        # A try only starts through its running transition, a compare-and-set on "queued" that commits
        # waiting for the disk, and Postgres's WAL is in order: whatever a crash of Postgres could lose
        # of this commit, no try has started from it (its runner is answered 409 and the try is queued
        # again). So this commit need not wait for the disk either (ADR 21).
        without_waiting_for_disk(conn)
        return workloads

    # --- failures ---------------------------------------------------------------

    def _refuse_executor(self, conn, ti, wanted: str, now) -> None:
        """A task whose `executor=` names an executor this deployment does not run fails (a retry would
        too), and its log says which executors there are."""
        reason = (f"the task asks for executor {wanted!r}, which this deployment does not run "
                  f"(LEOFLOW_EXECUTOR={self.services.settings.executor})")
        if tis.finish_try(conn, ti.id, "failed", now, only_if=("scheduled",)):
            log.error("Task %s.%s (run %r) cannot run: %s", ti.dag_id, ti.task_id, ti.run_id, reason)
            audit.record(conn, "failed", dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id,
                         try_number=ti.try_number, extra=reason)
            try_log.write(self.services.settings.logs_folder, ti, f"Cannot run: {reason}")
            self._dirty.add((ti.dag_id, ti.run_id))

    def _refuse_unsafe(self, conn, ti, reason: str, now) -> None:
        """A try whose log path would leave the logs folder never runs: it fails (a retry would too)."""
        if tis.finish_try(conn, ti.id, "failed", now, only_if=("scheduled",)):
            log.error("Task %s.%s (run %r) cannot run: %s", ti.dag_id, ti.task_id, ti.run_id, reason)
            audit.record(conn, "failed", dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id,
                         try_number=ti.try_number, extra=reason)

    def _fail_or_retry(self, conn, ti, reason: str) -> str:
        """End the try in up_for_retry (tries left) or failed, and say why in its log."""
        state = "up_for_retry" if ti.try_number <= ti.max_tries else "failed"
        if tis.finish_try(conn, ti.id, state):
            log.warning("Task %s.%s (run %s, try %s) is %s: %s", ti.dag_id, ti.task_id, ti.run_id,
                        ti.try_number, state, reason)
            audit.record(conn, state, dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id,
                         try_number=ti.try_number, extra=reason)
            try_log.write(self.services.settings.logs_folder, ti,
                          f"{reason[:1].upper()}{reason[1:]}; marking the try {state}")
        return state

    def _handle_executor_exits(self) -> None:
        exits = self._exits_to_record + self.executor.drain_exits()
        self._exits_to_record = []
        if not exits:
            return
        try:
            self._record_exits(exits)
        except SQLAlchemyError:  # the database is away: these are recorded on a later pass, never lost
            self._exits_to_record = exits
            raise

    def _record_exits(self, exits: list[dict]) -> None:
        # Nearly every try reported its end before its process exited: look first, write only for the rest.
        with self.services.engine.connect() as conn:  # one statement for every exit of the pass
            states = tis.states_by_id(conn, [ex["ti_id"] for ex in exits])
        exits = [ex for ex in exits if states.get(ex["ti_id"], "gone") in ("queued", "running", "restarting")]
        if not exits:
            return
        with self.services.engine.begin() as conn:
            for ex in exits:
                ti = tis.get_ti(conn, ex["ti_id"])
                if ti is None:
                    continue
                self._told_zombies.discard((ti.id, ex["try_number"]))
                # A try that reported its end already woke the scheduler for its run: evaluate again
                # only when the exit itself changes the state. A poke or resume of the same try has a
                # newer queued time (`attempt`), so an earlier attempt's exit cannot fail it.
                stale = ex.get("attempt") and ti.queued_dttm and ti.queued_dttm.isoformat() != ex["attempt"]
                if ti.state in ("queued", "running") and ti.try_number == ex["try_number"] and not stale:
                    self._dirty.add((ti.dag_id, ti.run_id))
                    if ti.state == "queued" and (not self.queueing or ex.get("requeue")):
                        tis.reset_to_scheduled(conn, ti.id)  # stopped before it began (shutdown, a quota): not a try
                        continue
                    self._fail_or_retry(conn, ti, ex.get("reason") or (
                        f"the task process exited with code {ex['exit_code']} without reporting a final state"))
                elif ti.state == "restarting" and ti.try_number == ex["try_number"]:
                    tis.restart_cleared(conn, ti.id)  # cleared while running: its process is gone now
                    self._dirty.add((ti.dag_id, ti.run_id))

    def _find_zombies(self, now: dt.datetime) -> None:
        limit = self.services.settings.zombie_threshold
        threshold = now - dt.timedelta(seconds=limit)
        with self.leadership.begin() as conn:
            others = self._others(conn, now)
            zombies = [ti for ti in tis.stale_running(conn, threshold) if not others((ti.dag_id, ti.run_id))]
            for ti_id in tis.queued_by_gone_schedulers(conn, threshold):  # its replica died before starting it
                row = tis.get_ti(conn, ti_id)
                if others((row.dag_id, row.run_id)):
                    continue
                tis.reset_to_scheduled(conn, ti_id)
                self._dirty.add((row.dag_id, row.run_id))
            queued_limit = self.services.settings.task_queued_timeout
            for ti in tis.queued_too_long(conn, now - dt.timedelta(seconds=queued_limit)):
                if others((ti.dag_id, ti.run_id)):
                    continue
                # Handed to an executor that never started it (a lost hand-over): Airflow's task_queued_timeout
                self._fail_or_retry(conn, ti, f"it stayed queued for more than {queued_limit:g}s without "
                                              "starting (task_queued_timeout)")
                self._dirty.add((ti.dag_id, ti.run_id))
            for ti_id in tis.stale_restarting(conn, threshold):  # cleared, and its runner is gone
                row = tis.get_ti(conn, ti_id)
                if others((row.dag_id, row.run_id)):
                    continue
                tis.restart_cleared(conn, ti_id)
                self._dirty.add((row.dag_id, row.run_id))
        unheld = []
        for ti in zombies:
            if (ti.id, ti.try_number) not in self._told_zombies:
                try_log.write(self.services.settings.logs_folder, ti, f"Task did not emit heartbeat within time "
                                                                      f"limit ({limit:g} seconds) and will be terminated")
            # A hung process still holds a slot and may wake up later: end it, with all it started. Its
            # exit (reported once all that is gone) records the try, so the retry cannot overlap it.
            if self.executor.kill(ti.id, ti.try_number, reason="no heartbeat from its runner (zombie)"):
                self._told_zombies.add((ti.id, ti.try_number))
            else:
                unheld.append(ti)  # not run by this process (a previous one's, another host's): record it now
        if not unheld:
            return
        alive = self._end_processes_of(unheld)
        with self.leadership.begin() as conn:
            for ti in unheld:
                if ti.id not in alive:
                    self._fail_or_retry(conn, ti, "no heartbeat from its runner (zombie)")
                    self._dirty.add((ti.dag_id, ti.run_id))

    def record_unfinished(self, reason: str) -> None:
        """At shutdown, once nothing runs: what this scheduler handed out and is still active in the
        database is recorded, so nothing is left queued or running until the next start."""
        # Tries of executors that outlive this process (pods) are the next leader's to adopt.
        outliving = {e.name for e in self.executor if hasattr(e, "detach")}
        with self.services.engine.begin() as conn:
            for ti in tis.active_tis_of_job(conn, self.job_id):
                if getattr(ti, "executor", None) in outliving:
                    continue
                if ti.state == "queued":
                    tis.reset_to_scheduled(conn, ti.id)
                else:
                    self._fail_or_retry(conn, ti, reason)
