"""The Kubernetes executor: each try is a pod (ADR 27).

`submit` only notes the try; a small pool of threads creates the pods (the scheduler never waits on
the API). One thread watches the release's pods (watch.py: resourceVersion, a new list on 410 Gone)
and another keeps house every second: pending timeouts, a metadata-only relist that catches what the
watch missed, tries ended from the UI, the logs of running pods. Only the leading scheduler replica
acts: a standby holds nothing, and a replica that takes the lead adopts the release's pods through
their labels.

Exits are reported in the local executor's shape ({ti_id, try_number, attempt, log_key, exit_code,
reason}); `requeue` asks the scheduler to put a queued try back (a quota refused its pod).
"""

from __future__ import annotations

import concurrent.futures
import logging
import signal
import threading
import time
from dataclasses import dataclass, field

from ...runner.logfile import UnsafeLogPath, log_relative_path, resolve_log_path
from . import api, names, phases, pod_logs, podspec
from .pods import Pods
from .watch import PodWatch

log = logging.getLogger(__name__)

LOG_INTERVAL = 3.0  # seconds between reads of a running pod's log
RECONCILE_INTERVAL = 5.0  # seconds between looks at the database for tries ended from the UI
QUOTA_BACKOFF = 10.0  # seconds no new pod is tried after a quota refused one
ACTIVE = ("queued", "running")  # a try in another state has no business running a pod


@dataclass
class _Held:
    """A try whose pod this executor answers for."""

    name: str
    ti_id: str
    try_number: int
    attempt: str | None
    log_key: tuple
    log: pod_logs.PodLog
    since: float = field(default_factory=time.monotonic)
    seen: float | None = None  # when the API first showed this pod (a list made later without it: it is gone)
    resource_version: str = ""
    outcome: phases.Outcome | None = None
    ending: str | None = None  # why Leoflow deletes the pod
    over_since: float | None = None  # when the database first said the try no longer runs
    completing: bool = False
    uid: str | None = None  # the pod's, once created or adopted: events of an earlier pod of that name are not its


class KubernetesExecutor:
    name = "KubernetesExecutor"

    def __init__(self, settings, parallelism: int, *, core=None, engine=None, start: bool = True,
                 problems: dict | None = None):
        self.settings = settings
        self.parallelism = parallelism
        self.engine = engine  # the metadata database: executor_config of tasks, tries ended from the UI
        self.namespace = api.default_namespace(settings)
        self.release = settings.kubernetes_release or "leoflow"
        self.selector = names.selector(self.release)
        self._stop = threading.Event()
        self.pods = Pods(core if core is not None else api.connect(settings), self.namespace, self._stop)
        self.template = (podspec.load_template(settings.kubernetes_pod_template_file)
                         if settings.kubernetes_pod_template_file else None)
        self.image = settings.kubernetes_image or self._own_image()
        self.api_url = execution_api_url(settings.kubernetes_execution_api_url) or settings.execution_api_url
        self.dags_folder = settings.kubernetes_dags_folder or str(settings.dags_folder)
        self.defaults = podspec.default_pod(
            service_account=settings.kubernetes_service_account,
            automount_token=settings.kubernetes_automount_service_account_token,
            task_runner=settings.task_runner, airflow_python=settings.airflow_python)
        # With a database, a pod ships its try's log itself (/execution/leoflow/logs): the server has it
        # even when the pod is deleted before its log is read. Without one (the executor on its own), the
        # executor copies the pod's log (pods/log) into the try's log file.
        self.pods_ship_logs = engine is not None
        self.leadership = None  # the scheduler's (boot.py sets it): only a leader acts
        self.on_event = lambda: None
        self.log_shipper = None
        self._lock = threading.RLock()
        self._held: dict[str, _Held] = {}
        self._exits: list[dict] = []
        self._done: set[str] = set()  # uids of finished pods kept, whose end is recorded: never adopted again
        self._leading = False
        self._quota_until = 0.0
        self._detached = False
        self._last_relist = self._last_reconcile = self._last_logs = 0.0
        self._configs: dict[tuple, dict | None] = {}  # (dag_version_id, task_id) -> executor_config
        self._work = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="k8s-pods")
        self.problem: str | None = None
        self._problems = problems  # the server's health problems (GET /api/v2/monitor/health shows them)
        self._watch = PodWatch(self.pods, self.selector, self._stop, leading=self.is_leader, on_list=self._listed,
                               on_event=self._watched, on_let_go=self._let_go, show_problem=self._show_problem)
        self._threads = [threading.Thread(target=self._watch.run, name="k8s-watch", daemon=True),
                         threading.Thread(target=self._house_loop, name="k8s-house", daemon=True)]
        if start:
            for t in self._threads:
                t.start()

    def _own_image(self) -> str:
        """In a cluster, the image this server runs from (its pod is named by HOSTNAME)."""
        import os

        if not os.path.exists(api.IN_CLUSTER_NAMESPACE):
            return ""
        try:
            own = self.pods.get(os.environ.get("HOSTNAME", ""))
        except api.ApiRefused:
            return ""
        containers = ((own or {}).get("spec") or {}).get("containers") or []
        return containers[0].get("image", "") if containers else ""

    # --- the scheduler's interface ------------------------------------------------------------

    def is_leader(self) -> bool:
        return not self._detached and (self.leadership is None or bool(self.leadership.is_leader))

    def running(self) -> list[dict]:
        with self._lock:
            return [{"ti_id": h.ti_id, "try_number": h.try_number, "attempt": h.attempt, "log_key": h.log_key}
                    for h in self._held.values()]

    def free_slots(self) -> int:
        # Not before the first list: a new leader counts the pods it adopts before it makes more.
        if time.monotonic() < self._quota_until or not self.is_leader() or not self._leading:
            return 0
        with self._lock:
            return max(self.parallelism - len(self._held), 0)

    def submit(self, workload: dict, attempt: str | None = None) -> None:
        ti = workload["ti"]
        name = names.pod_name(ti)
        with self._lock:
            held = self._held.get(name)
            if held is not None:  # the same try queued again (its first hand-over was lost): same pod
                held.attempt = attempt
            else:
                held = self._hold(name, ti["id"], ti["try_number"], attempt, _log_key(ti))
        self._work.submit(self._guard, self._create, held, workload)

    def kill(self, ti_id: str, try_number: int, reason: str | None = None, sig: int = signal.SIGKILL) -> bool:
        """Delete the try's pod (SIGTERM: with the pod's grace period, so the task's on_kill runs). Its exit,
        with `reason`, is reported once the pod is gone."""
        with self._lock:
            held = next((h for h in self._held.values() if h.ti_id == ti_id and h.try_number == try_number), None)
            if held is None:
                return False
            held.ending = held.ending or reason or "Leoflow ended the try"
        grace = None if sig == signal.SIGTERM else 0
        self._work.submit(self._guard, self._delete, held.name, grace)
        return True

    def drain_exits(self) -> list[dict]:
        with self._lock:
            exits, self._exits = self._exits, []
        return exits

    def detach(self) -> None:
        """This scheduler stops (a graceful stop of a replica): its pods go on running and the next leader
        adopts them; nothing is deleted or reported from here any more."""
        self._detached = True
        with self._lock:
            self._held.clear()
        self.close()

    def close(self) -> None:
        self._stop.set()
        self._work.shutdown(wait=False, cancel_futures=True)

    # --- holding tries ------------------------------------------------------------------------

    def _hold(self, name, ti_id, try_number, attempt, log_key, *, adopted: bool = False) -> _Held:
        path = None
        try:
            if not self.pods_ship_logs:
                path = resolve_log_path(self.settings.logs_folder, log_relative_path(*log_key))
        except UnsafeLogPath:
            pass
        copied, first_seq = pod_logs.shipped(self.engine, log_key) if adopted and path is not None else (0, 0)
        held = self._held[name] = _Held(name, ti_id, try_number, attempt, log_key, pod_logs.PodLog(path, copied))
        if self.log_shipper is not None and path is not None:
            self.log_shipper.follow(log_key, path, first_seq=first_seq)
        return held

    def _finish(self, held: _Held, exit_code: int, reason: str | None, *, requeue: bool = False) -> None:
        with self._lock:
            if self._held.get(held.name) is not held:
                return  # finished already
            del self._held[held.name]
            self._exits.append({"ti_id": held.ti_id, "try_number": held.try_number, "attempt": held.attempt,
                                "log_key": held.log_key, "exit_code": exit_code, "reason": reason,
                                "requeue": requeue})
        if self.log_shipper is not None and not requeue and not self.pods_ship_logs:  # a requeued try: same log
            self.log_shipper.finished(held.log_key)
        self.on_event()

    def _guard(self, fn, *args, **kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except Exception:  # noqa: BLE001 - one pod's trouble never stops the others
            log.exception("Kubernetes executor: %s failed", getattr(fn, "__name__", fn))

    # --- creating a pod ------------------------------------------------------------------------

    def _executor_config(self, workload: dict) -> dict | None:
        ti = workload["ti"]
        key = (ti.get("dag_version_id"), ti["task_id"])
        if key in self._configs or self.engine is None:
            return self._configs.get(key)
        from ...store import dags as dag_store

        with self.engine.connect() as conn:
            doc = dag_store.serialized_by_version(conn, key[0]) if key[0] else None
            if doc is None:
                latest = dag_store.latest_serialized(conn, ti["dag_id"])
                doc = latest[1] if latest else None
        task = next((t for t in (doc or {}).get("tasks", []) if t.get("task_id") == ti["task_id"]), {})
        if len(self._configs) > 4096:
            self._configs.clear()
        config = self._configs[key] = task.get("executor_config") or None
        return config

    def _pod_for(self, workload: dict) -> dict:
        config = self._executor_config(workload) or {}
        if not isinstance(config, dict):
            raise podspec.PodSpecError("executor_config must be a mapping")
        template = self.template
        if config.get("pod_template_file"):
            template = podspec.load_template(str(config["pod_template_file"]))
        return podspec.build_pod(workload, template=template, executor_config=config, defaults=self.defaults,
                                 namespace=self.namespace, image=self.image, release=self.release,
                                 api_url=self.api_url, dags_folder=self.dags_folder,
                                 heartbeat_interval=self.settings.task_heartbeat_interval,
                                 dags=self.settings.kubernetes_dags, ship_logs=self.pods_ship_logs)

    def _create(self, held: _Held, workload: dict) -> None:
        if self._stop.is_set():
            return
        try:
            pod = self._pod_for(workload)
        except podspec.PodSpecError as exc:
            self._finish(held, 1, f"its pod could not be made: {exc}")
            return
        if held.attempt:
            pod["metadata"]["annotations"][names.ATTEMPT] = held.attempt
        try:
            created = self.pods.create(pod)
            if created is None:  # a pod of this try exists: a repeated create, never a second pod
                created = self.pods.get(held.name)
                if created is not None and self._earlier_run(created, held):
                    created = self._replace(pod, held)
                if created is None:
                    raise api.ApiRefused(409, f"pod {held.name} exists but cannot be read")
                log.info("Pod %s exists already; adopting it", held.name)
            held.uid = created["metadata"]["uid"]
            self.pods.create_workload_secret(created, workload)
        except api.QuotaExceeded as exc:
            self._quota_until = time.monotonic() + QUOTA_BACKOFF
            log.warning("Pod %s refused by a quota (%s); the try goes back to the queue", held.name, exc.message)
            self._finish(held, 1, f"a quota refused its pod: {exc.message}", requeue=True)
            return
        except api.ApiRefused as exc:
            if exc.message == "stopping":
                return
            log.error("Pod %s could not be created: %s", held.name, exc)
            self._delete_quietly(held.name)
            self._finish(held, 1, f"its pod could not be created: {exc}")
            return
        self._observe(created)

    @staticmethod
    def _earlier_run(pod: dict, held: _Held) -> bool:
        """A finished pod of an earlier hand-over of the same try (a sensor's poke, a deferral's start), kept
        or not yet deleted: not the pod of this one."""
        attempt = (pod["metadata"].get("annotations") or {}).get(names.ATTEMPT)
        return phases.read(pod).kind in ("succeeded", "failed") and attempt != held.attempt

    def _replace(self, pod: dict, held: _Held) -> dict | None:
        """Delete the earlier run's pod and create this one's once the name is free."""
        log.info("Pod %s ran an earlier hand-over of its try; replacing it", held.name)
        self.pods.delete(held.name, 0)
        deadline = time.monotonic() + 60
        while self.pods.get(held.name) is not None:
            if time.monotonic() > deadline or self._stop.wait(0.2):
                raise api.ApiRefused(409, f"pod {held.name} of an earlier run of the try is not going away")
        return self.pods.create(pod)

    def _delete_quietly(self, name: str) -> None:
        try:
            self.pods.delete(name, 0)
        except api.ApiRefused:
            pass

    def _delete(self, name: str, grace: int | None) -> None:
        try:
            self.pods.delete(name, grace)
        except api.ApiRefused as exc:
            log.warning("Pod %s could not be deleted: %s", name, exc)

    # --- what the API shows --------------------------------------------------------------------

    def _observe(self, pod: dict, deleted: bool = False) -> None:
        """A pod as the API shows it now (from a watch event, a list or a create)."""
        meta = pod.get("metadata") or {}
        name = meta.get("name")
        with self._lock:
            held = self._held.get(name)
            if held is not None and not self._its_pod(held, pod):
                return
            if held is None:
                if deleted or not self._leading or not self._worth_adopting(pod):
                    return
                held = self._adopt(pod)
                if held is None:
                    return
            if held.seen is None:
                held.seen = time.monotonic()
            if held.uid is None:
                held.uid = meta.get("uid")
            held.resource_version = meta.get("resourceVersion", held.resource_version)
            outcome = held.outcome = phases.read(pod)
        if deleted:
            self._gone(held, outcome)
        elif outcome.kind in ("succeeded", "failed") and not held.completing:
            held.completing = True
            self._work.submit(self._guard, self._complete, held, outcome)
        elif outcome.kind == "fatal" and held.ending is None:
            held.ending = outcome.reason
            self._work.submit(self._guard, self._end_unstarted, held, outcome.reason)

    def _its_pod(self, held: _Held, pod: dict) -> bool:
        meta = pod.get("metadata") or {}
        if held.uid is not None:
            return meta.get("uid") == held.uid
        return not self._earlier_run(pod, held) if held.attempt else True

    def _worth_adopting(self, pod: dict) -> bool:
        """A pod not held here: adopted unless its end was recorded already (a finished pod kept for a
        look, or whose try the database no longer runs)."""
        uid = (pod.get("metadata") or {}).get("uid")
        if uid in self._done:
            return False
        if phases.read(pod).kind not in ("succeeded", "failed") or self.engine is None:
            return True
        identity = names.try_of(pod.get("metadata") or {})
        if identity is None:
            return False
        from ...store import tis

        with self.engine.connect() as conn:
            row = tis.get_ti(conn, identity[0])
        if row is not None and row.try_number == identity[1] and row.state in ACTIVE + ("restarting",):
            return True  # it ended while no one led: its end is still to be recorded
        self._remember_done(uid)
        return False

    def _remember_done(self, uid: str | None) -> None:
        if len(self._done) > 10000:
            self._done.clear()
        self._done.add(uid)

    def _adopt(self, pod: dict) -> _Held | None:
        meta = pod.get("metadata") or {}
        identity = names.try_of(meta)
        if identity is None:
            return None
        notes = meta.get("annotations") or {}
        try:
            key = (notes[names.DAG], notes[names.RUN], notes[names.TASK], int(notes.get(names.MAP, -1)), identity[1])
        except (KeyError, ValueError):
            return None
        log.info("Adopting pod %s (try %s of %s)", meta.get("name"), identity[1], identity[0])
        held = self._hold(meta["name"], identity[0], identity[1], notes.get(names.ATTEMPT), key, adopted=True)
        held.uid = meta.get("uid")
        return held

    def _gone(self, held: _Held, outcome: phases.Outcome) -> None:
        """The pod no longer exists."""
        if held.completing:
            return  # its end is being recorded (it was deleted after it finished)
        held.log.copy_new(self.pods, held.name, ended=True)
        reason = held.ending or outcome.reason or "its pod was deleted before it finished"
        code = outcome.exit_code if outcome.exit_code is not None else -signal.SIGKILL
        self._finish(held, code, reason)

    def _complete(self, held: _Held, outcome: phases.Outcome) -> None:
        """A pod that ended: its log to the try's log, its exit to the scheduler, the pod deleted (or kept)."""
        held.log.copy_new(self.pods, held.name, ended=True)
        if outcome.kind == "failed":
            self._event(held, f"Pod {held.name} failed: {outcome.reason.removeprefix('the pod failed: ')}")
        self._finish(held, outcome.exit_code or 0, held.ending or (outcome.reason if outcome.kind == "failed" else None))
        keep = outcome.kind == "failed" and not self.settings.kubernetes_delete_on_failure
        try:
            if keep or not self.settings.kubernetes_delete_pods:
                self._remember_done(held.uid)  # kept for a look; its end is recorded
            else:
                self.pods.delete(held.name)
        except api.ApiRefused as exc:
            log.warning("Finished pod %s could not be cleaned up: %s", held.name, exc)

    def _event(self, held: _Held, event: str) -> None:
        """A record of Leoflow's own in the try's log: after what its pod shipped, or in the log file."""
        if self.pods_ship_logs:
            pod_logs.store_event(self.engine, held.log_key, event)
        else:
            pod_logs.write_event(self.settings.logs_folder, held.log_key, event)

    def _end_unstarted(self, held: _Held, reason: str) -> None:
        """A pod that will not start (fatal waiting reason, pending too long): its try fails or retries."""
        self._event(held, f"Pod {held.name} did not start: {reason}")
        self._delete_quietly(held.name)
        self._finish(held, 1, reason)

    # --- the watch ------------------------------------------------------------------------------

    def _show_problem(self, problem: str | None) -> None:
        """Health shows the scheduler unhealthy while the pods cannot be watched (a fork server's own
        problem is left alone)."""
        previous, self.problem = self.problem, problem
        if self._problems is None or previous == problem:
            return
        text = f"Kubernetes executor: {problem}" if problem else None
        current = self._problems.get("scheduler")
        if text and (current is None or current.startswith("Kubernetes executor:")):
            self._problems["scheduler"] = text
        elif not text and current is not None and current.startswith("Kubernetes executor:"):
            self._problems.pop("scheduler", None)

    def _listed(self, items: list, asked: float) -> None:
        """The release's pods, listed (asked for at `asked`): a new leader adopts them, held pods are
        refreshed, and those missing are gone."""
        self._leading = True
        listed = set()
        for pod in items:
            listed.add(pod["metadata"]["name"])
            self._observe(pod)
        self._vanished(listed, asked)
        self._last_relist = time.monotonic()

    def _watched(self, kind: str, pod: dict) -> None:
        self._observe(pod, deleted=kind == "DELETED")

    def _vanished(self, listed: set[str], asked: float) -> None:
        """Held pods the API no longer has (a DELETED event the watch missed). Only pods seen before the
        list was asked for count: a pod created meanwhile is simply not in it yet."""
        with self._lock:
            gone = [h for h in self._held.values() if h.seen is not None and h.seen < asked and h.name not in listed]
        for held in gone:
            self._gone(held, held.outcome or phases.Outcome("unknown"))

    def _let_go(self) -> None:
        """Another replica leads now: it adopts the pods; this one forgets them."""
        log.info("No longer leading: the Kubernetes executor lets go of %d pod(s)", len(self._held))
        with self._lock:
            self._held.clear()
            self._leading = False

    # --- housekeeping --------------------------------------------------------------------------

    def _house_loop(self) -> None:
        while not self._stop.wait(1.0):
            if not self._leading or not self.is_leader():
                continue
            try:
                self._housekeeping()
            except Exception:  # noqa: BLE001
                log.warning("Kubernetes executor housekeeping failed", exc_info=True)

    def _housekeeping(self) -> None:
        now = time.monotonic()
        timeout = self.settings.kubernetes_pending_timeout
        with self._lock:
            held = list(self._held.values())
        for h in held:
            if h.ending is None and h.outcome is not None and h.outcome.kind == "pending" and now - h.since > timeout:
                h.ending = (f"its pod stayed Pending for more than {timeout:g}s (LEOFLOW_KUBERNETES_PENDING_TIMEOUT)"
                            + (f": {h.outcome.reason}" if h.outcome.reason else ""))
                self._work.submit(self._guard, self._end_unstarted, h, h.ending)
        if now - self._last_logs >= LOG_INTERVAL:
            self._last_logs = now
            for h in held:
                if h.outcome is not None and h.outcome.kind == "running" and h.log.path is not None:
                    self._work.submit(self._guard, h.log.copy_new, self.pods, h.name, ended=False)
        if now - self._last_reconcile >= RECONCILE_INTERVAL:
            self._last_reconcile = now
            self._reconcile(held, now)
        if now - self._last_relist >= self.settings.kubernetes_relist_interval:
            self._last_relist = now
            self._relist()

    def _reconcile(self, held: list[_Held], now: float) -> None:
        """Tries marked failed or success, or cleared, from the UI or the API: their pods are deleted (a
        runner ends itself when the server says so; this ends a pod whose runner never started or hangs)."""
        if self.engine is None or not held:
            return
        from sqlalchemy import select

        from ...store.tis import TI

        with self.engine.connect() as conn:
            rows = {r.id: r for r in conn.execute(select(TI.c.id, TI.c.state, TI.c.try_number)
                                                   .where(TI.c.id.in_([h.ti_id for h in held])))}
        for h in held:
            row = rows.get(h.ti_id)
            over = row is None or row.try_number != h.try_number or row.state not in ACTIVE
            if not over or h.completing:
                h.over_since = None
                continue
            if h.over_since is None:
                h.over_since = now
            elif now - h.over_since >= RECONCILE_INTERVAL and h.ending is None:
                state = row.state if row is not None else "deleted"
                h.ending = f"the try was ended from outside its pod (it is now {state})"
                log.info("Deleting pod %s: %s", h.name, h.ending)
                self._work.submit(self._guard, self._delete, h.name, None)

    def _relist(self) -> None:
        """The metadata of every pod of the release: a pod the watch missed is read whole."""
        asked = time.monotonic()
        try:
            metas = self.pods.list_metadata(self.selector)
        except api.ApiRefused as exc:
            log.info("Pod relist failed: %s", exc)
            return
        if metas is None:
            return
        listed = {m.get("name") for m in metas}
        for meta in metas:
            with self._lock:
                held = self._held.get(meta.get("name"))
            if held is None or held.resource_version != meta.get("resourceVersion"):
                pod = self.pods.get(meta["name"])
                if pod is not None:
                    self._observe(pod)
        self._vanished(listed, asked)


def execution_api_url(url: str) -> str:
    """The setting as the Execution API's URL: a server's base URL (a Service's) gets `/execution`."""
    url = (url or "").strip().rstrip("/")
    return url if not url or url.endswith("/execution") else url + "/execution"


def _log_key(ti: dict) -> tuple:
    return (ti["dag_id"], ti["run_id"], ti["task_id"], ti.get("map_index", -1), ti["try_number"])
