"""`leoflow agent`: runs the tries it claims from the servers, on this host, through its own fork server.

Threads: `claims` (long-poll claims while slots are free and it is not draining), `heartbeat` (every
couple of seconds: its state; the answer names tries to kill and whether to drain), `reports` (exits,
delivered until the server takes or refuses them). A try runs exactly as under the local executor
(Leoflow's runner, forked from a warm fork server) and talks to the server's `/execution`; its log
file is shipped in numbered chunks. With the server unreachable the agent keeps its tasks running and
its reports and logs waiting, retrying with backoff and jitter; once it has been cut off longer than
the zombie threshold the server has retried its tries elsewhere, so it ends them itself (their late
reports are refused, harmlessly).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
import urllib.parse
from pathlib import Path
from types import SimpleNamespace

from .. import __version__
from . import bundles
from .client import AgentClient, Backoff, Refused, TlsRefused, Unreachable

log = logging.getLogger("leoflow.agent")

CREDENTIAL_FILE = "credential.json"
CLAIM_WAIT = 25.0
STOP_TERM_SECONDS = 5.0
REPORT_PATIENCE = 15.0
DRAIN_CHECK = 0.5  # how often a draining agent looks whether its tries and reports are done
LOOPBACK = ("localhost", "127.0.0.1", "::1")


class Fatal(Exception):
    """The agent cannot go on (its credential was revoked, the server's certificate is not trusted)."""


def save_credential(home: Path, data: dict) -> None:
    path = home / CREDENTIAL_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(data, f)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def load_credential(home: Path) -> dict | None:
    path = home / CREDENTIAL_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except ValueError as exc:
        raise SystemExit(f"leoflow agent: {path} is damaged ({exc}); remove it and enroll the agent again")
    return data if isinstance(data, dict) and data.get("credential") else None


def register(server: str, home: Path, token: str | None, *, name: str | None, queues: list[str],
             concurrency: int, ca_file: str | None, client_cert: tuple[str, str] | None = None) -> dict:
    """The agent's credential: the saved one for this server, else traded for the enrollment token."""
    saved = load_credential(home)
    if saved is not None and saved.get("server") == server:
        return saved
    if not token:
        raise SystemExit("leoflow agent: this home has no credential for that server: give --token (from "
                         "`leoflow agents enroll NAME` on the server)")
    client = AgentClient(server, ca_file=ca_file, client_cert=client_cert)
    body = {"enrollment_token": token, "version": __version__, "concurrency": concurrency,
            "hostname": socket.gethostname(), "queues": queues}
    if name:
        body["name"] = name
    backoff = Backoff()
    tls_failures = 0
    while True:
        try:
            answer = client.request("POST", "/register", body)
            break
        except TlsRefused as exc:
            raise SystemExit(f"leoflow agent: {exc} (give --ca-file with the CA that signed it)")
        except Refused as exc:
            raise SystemExit(f"leoflow agent: enrollment refused: {exc.detail}")
        except Unreachable as exc:
            tls_failures = tls_failures + 1 if exc.tls else 0
            if tls_failures >= 3:
                raise SystemExit(f"leoflow agent: the server ends every TLS session ({exc}): it probably asks for "
                                 "a client certificate; give --client-cert and --client-key")
            wait = backoff.next()
            log.warning("Cannot reach the server to enroll (%s); again in %.1f s", exc, wait)
            time.sleep(wait)
    data = {"server": server, "name": answer["name"], "credential": answer["credential"],
            "queues": answer["queues"]}
    save_credential(home, data)
    log.info("Enrolled as agent %r (queues %s)", answer["name"], ",".join(answer["queues"]))
    return data


class _Job:
    __slots__ = ("job_id", "token", "workload", "attempt", "bundle_dir")

    def __init__(self, job_id, token, workload, attempt, bundle_dir=None):
        self.job_id, self.token, self.workload, self.attempt, self.bundle_dir = (job_id, token, workload, attempt,
                                                                                 bundle_dir)


def airflow_bundle_environment(folder: Path) -> dict[str, str]:
    """Airflow's configuration for one try under Airflow's runner: its bundle's folder as the local
    `dags-folder` bundle (so the DAG file and the helper modules beside it are found there)."""
    from ..store.dags import BUNDLE

    return {"AIRFLOW__CORE__DAGS_FOLDER": str(folder),
            "AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST": json.dumps([{
                "name": BUNDLE, "classpath": "airflow.dag_processing.bundles.local.LocalDagBundle",
                "kwargs": {"path": str(folder)}}])}


def _runner_executor(forkserver, concurrency: int, settings, jobs: dict):
    """The local executor, pointed at each try's bundle folder instead of one DAG folder."""
    from ..executors.local import LocalExecutor

    def owner(workload: dict) -> _Job:
        return next(j for j in list(jobs.values()) if j.workload is workload)

    class BundleExecutor(LocalExecutor):
        name = "AgentRunner"

        def __init__(self, *args):
            super().__init__(*args)
            if self.airflow is not None:  # LEOFLOW_TASK_RUNNER=airflow: Airflow's runner, one bundle per try
                submit = self.airflow.submit

                def submit_in_bundle(job_id: str, workload: dict) -> None:
                    folder = owner(workload).bundle_dir
                    # To Airflow the folder is a plain local bundle (its LocalDagBundle has no versions).
                    plain = {**workload, "bundle_info": {**workload.get("bundle_info", {}), "version": None}}
                    submit(job_id, plain, env=airflow_bundle_environment(folder))

                self.airflow.submit = submit_in_bundle

        def _runner_job(self, workload: dict) -> dict:
            job = super()._runner_job(workload)
            job["fileloc"] = str(owner(workload).bundle_dir / workload["dag_rel_path"])
            return job

    return BundleExecutor(forkserver, concurrency, settings)


class Agent:
    def __init__(self, *, server: str, home: Path, credential: dict, concurrency: int, ca_file: str | None,
                 forkserver, client_cert: tuple[str, str] | None = None, task_runner: str = "leoflow",
                 airflow_python: str = ""):
        self.server, self.home, self.concurrency = server, home, concurrency
        self.name = credential["name"]
        self.client = AgentClient(server, ca_file=ca_file, credential=credential["credential"],
                                  client_cert=client_cert)
        self.bundle_cache = home / "bundles"
        self.jobs: dict[str, _Job] = {}  # job id -> what this agent claimed and runs
        self.lock = threading.Lock()
        self.starting = 0  # claimed, being acknowledged / its bundle fetched
        self.draining = threading.Event()  # SIGTERM or the server said so: no new claims
        self.server_drain = False
        self.stopped = threading.Event()
        self.fatal: str | None = None
        self.reports: list[dict] = []  # exits waiting to be delivered
        self.abandoned = False  # stopping cut off past the zombie threshold: the reports are not delivered
        self.reports_wake = threading.Event()
        self.slot_freed = threading.Event()
        self.zombie_threshold = 30.0
        self.heartbeat_interval = 2.0
        self.last_contact = time.monotonic()
        settings = SimpleNamespace(
            task_runner=task_runner, airflow_python=airflow_python, home=home, logs_folder=home / "logs",
            dags_folder=self.bundle_cache, execution_api_url=f"{server}/execution", task_heartbeat_interval=5.0,
            execution_api_ca_file=os.path.abspath(ca_file) if ca_file else "", execution_api_ca_pinned=False)
        settings.logs_folder.mkdir(parents=True, exist_ok=True)
        self.bundle_cache.mkdir(parents=True, exist_ok=True)
        self.executor = _runner_executor(forkserver, concurrency, settings, self.jobs)
        self.executor.on_event = self._on_exit
        from ..executors.log_shipping import LogShipper

        self.log_keys: dict[tuple, _Job] = {}
        self.executor.log_shipper = LogShipper(self._ship_log, interval=1.0)

    # --- reporting ---------------------------------------------------------------------------------

    def _ship_log(self, key: tuple, seq: int, lines: str) -> None:
        job = self.log_keys.get(key)
        if job is None:
            return
        try:
            self.client.request("POST", self.client.job_path(job.job_id, "logs"),
                                {"claim_token": job.token, "seq": seq, "lines": lines})
        except Refused as exc:  # fenced: the try is not this agent's any more; those lines are dropped
            log.warning("Log chunk %d of %s refused: %s", seq, job.job_id, exc.detail)
        # Unreachable propagates: the shipper keeps the lines and tries again next round

    def _on_exit(self) -> None:
        self.reports_wake.set()

    def _collect_exits(self) -> None:
        for ex in self.executor.drain_exits():
            job_id = self.executor.job_id(ex["ti_id"], ex["try_number"], ex.get("attempt"))
            with self.lock:
                job = self.jobs.pop(job_id, None)
            if job is None:
                continue
            self.slot_freed.set()
            self.reports.append({"job_id": job_id, "claim_token": job.token, "exit_code": ex["exit_code"],
                                 "reason": (ex.get("reason") or None) and str(ex["reason"])[:2000]})

    def report_loop(self) -> None:
        backoff = Backoff()
        while True:
            self.reports_wake.wait(1.0)
            self.reports_wake.clear()
            self._collect_exits()
            while self.reports and not self.abandoned:
                item = self.reports[0]
                try:
                    self.client.request("POST", self.client.job_path(item["job_id"], "exit"),
                                        {k: item[k] for k in ("claim_token", "exit_code", "reason")})
                except Unreachable as exc:
                    wait = backoff.next()
                    log.warning("Cannot deliver the exit of %s (%s); again in %.1f s", item["job_id"], exc, wait)
                    self.reports_wake.wait(wait)  # woken early when the agent stops
                    self.reports_wake.clear()
                    continue
                except Refused as exc:
                    log.warning("The exit of %s was refused: %s", item["job_id"], exc.detail)
                backoff.reset()
                self.reports.pop(0)
            if self.stopped.is_set():
                return

    # --- claims ------------------------------------------------------------------------------------

    def free_slots(self) -> int:
        with self.lock:
            return max(self.executor.free_slots() - self.starting, 0)

    def claim_loop(self) -> None:
        backoff = Backoff()
        while not self.draining.is_set():
            if self.server_drain:
                self.draining.wait(self.heartbeat_interval)
                continue
            free = self.free_slots()
            if free <= 0:
                self.slot_freed.wait(1.0)
                self.slot_freed.clear()
                continue
            try:
                answer = self.client.request("POST", "/claim", {"free_slots": free, "wait": CLAIM_WAIT},
                                             timeout=CLAIM_WAIT + 15)
                backoff.reset()
                self.last_contact = time.monotonic()
            except Unreachable as exc:
                wait = backoff.next()
                log.warning("Cannot claim work (%s); again in %.1f s", exc, wait)
                self.draining.wait(wait)
                continue
            except (Refused, TlsRefused) as exc:
                self._give_up(str(exc))
                return
            if answer.get("state") not in (None, "active"):
                self.server_drain = True
            for job in answer.get("jobs", []):
                if self.draining.is_set() or self.server_drain:  # an answer to a claim made before draining
                    self._release(job)
                    continue
                with self.lock:
                    self.starting += 1
                threading.Thread(target=self._start, args=(job,), name="start-job", daemon=True).start()

    def _release(self, claimed: dict) -> None:
        try:
            self.client.request("POST", self.client.job_path(claimed["job_id"], "release"),
                                {"claim_token": claimed["claim_token"]})
        except (Unreachable, Refused) as exc:  # its lease runs out instead
            log.warning("Could not give back the claim of %s: %s", claimed["job_id"], exc)

    def _start(self, claimed: dict) -> None:
        job = _Job(claimed["job_id"], claimed["claim_token"], claimed["workload"], claimed.get("attempt"))
        with self.lock:
            self.jobs[job.job_id] = job  # listed by heartbeats from now on: the server knows it runs here
        submitted = False
        try:
            if not self._acknowledge(job):
                return
            try:
                job.bundle_dir = self._bundle(claimed.get("bundle_sha"))
                rel = job.workload.get("dag_rel_path", "")
                if not isinstance(rel, str) or os.path.isabs(rel) or ".." in Path(rel).parts:
                    raise ValueError(f"the workload's dag_rel_path {str(rel)[:200]!r} leaves the bundle")
            except Exception as exc:  # noqa: BLE001 - the try cannot start here: its exit says why
                log.error("Cannot run %s: %s", job.job_id, exc)
                self.reports.append({"job_id": job.job_id, "claim_token": job.token, "exit_code": None,
                                     "reason": f"the agent {self.name!r} could not get the DAG bundle: {exc}"[:2000]})
                self.reports_wake.set()
                return
            ti = job.workload["ti"]
            self.log_keys[(ti["dag_id"], ti["run_id"], ti["task_id"], ti.get("map_index", -1), ti["try_number"])] = job
            log.info("Running %s.%s (run %s, try %s)", ti["dag_id"], ti["task_id"], ti["run_id"], ti["try_number"])
            self.executor.submit(job.workload, attempt=job.attempt)
            submitted = True
        finally:
            with self.lock:
                self.starting -= 1
                if not submitted:
                    self.jobs.pop(job.job_id, None)

    def _acknowledge(self, job: _Job) -> bool:
        backoff = Backoff(0.2, 2.0)
        deadline = time.monotonic() + 15.0  # within the claim's lease, else it is someone else's
        while True:
            try:
                self.client.request("POST", self.client.job_path(job.job_id, "ack"), {"claim_token": job.token})
                return True
            except Refused as exc:
                log.warning("Claim of %s not acknowledged: %s", job.job_id, exc.detail)
                return False
            except Unreachable:
                if time.monotonic() > deadline:
                    return False
                time.sleep(backoff.next())

    def _bundle(self, sha: str | None) -> Path:
        if not sha or not bundles.SHA256.match(sha):
            raise ValueError("the job names no DAG bundle")
        folder = bundles.cached(self.bundle_cache, sha)
        if folder is not None:
            return folder
        backoff = Backoff(0.2, 5.0)
        for _ in range(10):
            try:
                data = self.client.request("GET", f"/bundles/{sha}", raw=True, timeout=60)
                return bundles.extract(data, sha, self.bundle_cache)
            except Unreachable:
                time.sleep(backoff.next())
        raise ValueError(f"the server did not send bundle {sha}")

    # --- heartbeat ---------------------------------------------------------------------------------

    def heartbeat_loop(self) -> None:
        while not self.stopped.is_set():
            with self.lock:
                running = list(self.jobs)
            try:
                answer = self.client.request("POST", "/heartbeat", {
                    "free_slots": 0 if self.draining.is_set() else self.free_slots(), "running": running,
                    "hostname": socket.gethostname(), "concurrency": self.concurrency}, timeout=max(2.0, self.zombie_threshold / 4))
                self.last_contact = time.monotonic()
                self.zombie_threshold = float(answer.get("zombie_threshold", self.zombie_threshold))
                self.heartbeat_interval = min(float(answer.get("heartbeat_interval", 2.0)), 10.0)
                self.server_drain = answer.get("state") != "active"
                for item in answer.get("cancel", []):
                    self._kill(item.get("job_id"), item.get("reason") or "cancelled by the server")
            except Unreachable as exc:
                if exc.down:
                    # No server listens there: none can count this agent silent meanwhile, and one that
                    # starts gives agents a zombie threshold to come back (executor.py). Keep running.
                    self.last_contact = max(self.last_contact, time.monotonic() - self.heartbeat_interval)
                silent = time.monotonic() - self.last_contact
                # Ahead of the server's own verdict (the zombie threshold from the same last heartbeat), so
                # the retry it starts elsewhere never runs beside this agent's try.
                if silent > max(self.zombie_threshold - 2 * self.heartbeat_interval, self.zombie_threshold / 2):
                    self._fence(f"the agent was cut off from the server for {silent:.0f} s, close to the zombie "
                                f"threshold ({self.zombie_threshold:g} s): the server retries its tries elsewhere")
                else:
                    log.warning("Heartbeat failed (%s); cut off for %.0f s", exc, silent)
            except (Refused, TlsRefused) as exc:
                self._give_up(str(exc))
            self.stopped.wait(self.heartbeat_interval)

    def _kill(self, job_id, reason: str, sig=signal.SIGKILL) -> None:
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None:
            return
        ti = job.workload["ti"]
        log.warning("Ending %s: %s", job_id, reason)
        self.executor.kill(ti["id"], ti["try_number"], reason=reason, sig=sig)

    def _fence(self, reason: str) -> None:
        with self.lock:
            jobs = list(self.jobs)
        for job_id in jobs:
            self._kill(job_id, reason)

    def _give_up(self, why: str) -> None:
        """The credential was revoked (or the server is not trusted any more): end the tries, stop."""
        if self.fatal is None:
            self.fatal = why
            log.error("Stopping: %s", why)
        self.draining.set()
        self._fence(f"the agent {self.name!r} stopped: {why}")

    # --- run ---------------------------------------------------------------------------------------

    def run(self) -> int:
        signals: list[float] = []

        def on_term(signum, frame):
            signals.append(time.monotonic())
            if len(signals) == 1:
                log.info("Draining: no new claims; the running tries finish (signal again to end them now)")
                self.draining.set()
            else:
                log.warning("Stopping now: ending the running tries")
                threading.Thread(target=self._hurry, daemon=True).start()

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)
        threads = [threading.Thread(target=t, name=n, daemon=True) for t, n in (
            (self.claim_loop, "claims"), (self.heartbeat_loop, "heartbeat"), (self.report_loop, "reports"))]
        for t in threads:
            t.start()
        log.info("Agent %r serving %s with %d slot(s)", self.name, self.server, self.concurrency)
        while True:
            if not self.draining.wait(1.0):
                continue
            # Draining: the event stays set, so this looks again twice a second (waiting on it would spin).
            time.sleep(DRAIN_CHECK)
            with self.lock:
                idle = not self.jobs and self.starting == 0
            if idle and not self.executor.running():
                # The last reports get delivered; told to stop at once, they get REPORT_PATIENCE s.
                if not self.reports or (len(signals) > 1 and time.monotonic() - signals[1] > REPORT_PATIENCE):
                    break
                silent = time.monotonic() - self.last_contact
                if silent > self.zombie_threshold + 2 * self.heartbeat_interval:
                    # The server has ended these tries as zombies and would refuse their reports.
                    log.warning("Stopping with %d undelivered report(s): cut off from the server for %.0f s, past "
                                "the zombie threshold (%g s)", len(self.reports), silent, self.zombie_threshold)
                    self.abandoned = True
                    break
        self.executor.log_shipper.stop()
        self._collect_exits()
        self.stopped.set()
        self.reports_wake.set()
        threads[2].join(30)
        self.executor.forkserver.stop()
        log.info("Agent %r stopped", self.name)
        return 1 if self.fatal else 0

    def _hurry(self) -> None:
        with self.lock:
            jobs = list(self.jobs)
        for job_id in jobs:
            self._kill(job_id, "the agent was told to stop at once (second SIGTERM)", sig=signal.SIGTERM)
        deadline = time.monotonic() + STOP_TERM_SECONDS
        while self.executor.running() and time.monotonic() < deadline:
            time.sleep(0.1)
        for job_id in jobs:
            self._kill(job_id, "the agent was told to stop at once (second SIGTERM)")


def run_agent(args) -> int:
    from .client import check_server_url

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = check_server_url(args.server, args.insecure)
    home = Path(args.home or os.environ.get("LEOFLOW_AGENT_HOME") or Path.home() / "leoflow-agent").absolute()
    home.mkdir(parents=True, exist_ok=True)
    os.chmod(home, 0o700)
    if args.ca_file:
        if not os.path.isfile(args.ca_file):
            raise SystemExit(f"leoflow agent: --ca-file {args.ca_file!r} is not a file")
        os.environ["SSL_CERT_FILE"] = os.path.abspath(args.ca_file)  # the tasks' runners trust it too
    if server.startswith("http://"):  # --insecure: the tries fetch no secret in clear off this host
        from ..runner.client import PLAIN_HTTP_SECRETS_ENV

        os.environ[PLAIN_HTTP_SECRETS_ENV] = "1"
    client_cert = None
    if args.client_cert or args.client_key:
        if not (args.client_cert and args.client_key):
            raise SystemExit("leoflow agent: --client-cert and --client-key go together")
        for path in (args.client_cert, args.client_key):
            if not os.path.isfile(path):
                raise SystemExit(f"leoflow agent: {path!r} is not a file")
        from ..runner.client import CLIENT_CERT_ENV, CLIENT_KEY_ENV

        client_cert = (os.path.abspath(args.client_cert), os.path.abspath(args.client_key))
        os.environ[CLIENT_CERT_ENV], os.environ[CLIENT_KEY_ENV] = client_cert  # the tries present it too
    task_runner = os.environ.get("LEOFLOW_TASK_RUNNER") or "leoflow"
    airflow_python = os.environ.get("LEOFLOW_AIRFLOW_PYTHON", "")
    if task_runner not in ("leoflow", "airflow"):
        raise SystemExit(f"leoflow agent: LEOFLOW_TASK_RUNNER must be leoflow or airflow, got {task_runner!r}")
    if task_runner == "airflow":
        from ..runner.airflow_runner import check_interpreter

        if server.startswith("http://") and urllib.parse.urlsplit(server).hostname not in LOOPBACK:
            # Airflow's runner would fetch Connections and Variables in clear (Leoflow's refuses to)
            raise SystemExit("leoflow agent: LEOFLOW_TASK_RUNNER=airflow needs https:// to the server "
                             "(--insecure is only for a server on this host's loopback)")
        check_interpreter(airflow_python)  # a missing or wrong interpreter stops the start, saying so
    from .credentials import parse_queues

    queues, problem = parse_queues(args.queues or "")
    if problem:
        raise SystemExit(f"leoflow agent: --queues: {problem}")
    if args.concurrency is not None and not 1 <= args.concurrency <= 4096:
        raise SystemExit("leoflow agent: --concurrency is from 1 to 4096")
    concurrency = args.concurrency or 4
    credential = register(server, home, args.token, name=args.name, queues=queues, concurrency=concurrency,
                          ca_file=args.ca_file, client_cert=client_cert)
    from ..executors.forkserver import ForkServer

    forkserver = ForkServer.start()  # before the agent's threads: children fork from a clean process
    agent = Agent(server=server, home=home, credential=credential, concurrency=concurrency, ca_file=args.ca_file,
                  forkserver=forkserver, client_cert=client_cert, task_runner=task_runner,
                  airflow_python=airflow_python)
    return agent.run()
