"""`/agent/v1/...`: what agents call, served by every replica (the state is all in the database).

Every route but `register` is authenticated by the agent's own credential (`Authorization: Bearer
lfa_...`); a removed agent's credential is refused at once. A job id names one try of one job row, and
every write about it must come from the agent that claimed it with the claim token it got: another
agent's job, a forged or an old token is a 409 that changes nothing. Bodies are small and checked;
a bad field is a 422 naming it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
import time

from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import __version__
from ..store import agents as store
from ..store.types import utcnow
from . import credentials, wakeup
from .client import PREFIX

log = logging.getLogger(__name__)

CLAIM_WAIT_SECONDS = 25.0  # a claim with nothing to hand out is held this long (long poll)
CLAIM_LEASE_SECONDS = 20.0  # an unacknowledged claim goes back to the queue after this
MAX_BODY = 64 * 1024
MAX_LOG_BODY = 1024 * 1024
MAX_LOG_LINES = 512 * 1024
MAX_CLAIM = 64
MAX_REASON = 2000
HEARTBEAT_INTERVAL = 2.0  # what agents are told: cancellations reach them within about this
# A job acknowledged this long ago that the agent's heartbeat does not list has ended there (a
# heartbeat built before the acknowledgement may still arrive within its timeout).
UNREPORTED_GRACE = 10.0
CLAIM_SILENCE = 3 * HEARTBEAT_INTERVAL  # a claim gets work only while its agent's heartbeats arrive


class Refused(Exception):
    def __init__(self, status: int, detail, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers


def field_error(field: str, msg: str, value=None) -> Refused:
    return Refused(422, [{"loc": ["body", field], "msg": msg, "input": value}])


def _body(raw: bytes, limit: int) -> dict:
    if len(raw) > limit:
        raise Refused(413, f"the request body is larger than {limit} bytes")
    try:
        body = json.loads(raw) if raw else {}
    except ValueError as exc:
        raise Refused(422, [{"loc": ["body"], "msg": f"JSON decode error: {exc}"}])
    if not isinstance(body, dict):
        raise Refused(422, [{"loc": ["body"], "msg": "the body must be a JSON object"}])
    return body


def _int(body: dict, field: str, *, low: int, high: int, default=None, required: bool = False) -> int | None:
    if field not in body or body[field] is None:
        if required:
            raise field_error(field, "Field required")
        return default
    value = body[field]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise field_error(field, f"must be an integer from {low} to {high}", value)
    return value


def _str(body: dict, field: str, *, max_len: int, required: bool = False) -> str | None:
    value = body.get(field)
    if value is None:
        if required:
            raise field_error(field, "Field required")
        return None
    if not isinstance(value, str) or len(value) > max_len or "\x00" in value:
        raise field_error(field, f"must be a string of at most {max_len} characters", str(value)[:80])
    return value


def _claim_token(body: dict) -> str:
    token = _str(body, "claim_token", max_len=credentials.MAX_TOKEN_LENGTH, required=True)
    return credentials.digest(token)


def _job_id(request: Request) -> str:
    job_id = request.path_params["job_id"]
    if len(job_id) > 300 or "\x00" in job_id:
        raise Refused(404, "no such job")
    return job_id


class AgentRoutes:
    def __init__(self, services):
        self.services = services
        self.engine = services.engine
        self.settings = services.settings
        wakeup.SIGNAL.listen(services.bus)
        from ..executors.router import parse_executor_setting

        if "agent" in parse_executor_setting(services.settings.executor):
            from .bundles import publish_for_runs

            # Runs this replica makes (a trigger through its API) record the bundle their tries will run.
            publish_for_runs(services.engine, services.settings.dags_folder)

    # --- plumbing ----------------------------------------------------------------------------------

    def route(self, path: str, fn, *, method: str = "POST", authenticated: bool = True, limit: int = MAX_BODY,
              blocking: bool = True) -> Route:
        async def handle(request: Request) -> Response:
            try:
                raw = await request.body() if method == "POST" else b""
                body = _body(raw, limit)
                agent = await run_in_threadpool(self.authenticate, request) if authenticated else None
                if blocking:
                    result = await run_in_threadpool(fn, request, body, agent)
                else:
                    result = await fn(request, body, agent)
            except Refused as exc:
                return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)
            except (OperationalError, InterfaceError) as exc:
                log.warning("%s %s: the metadata database is unavailable: %s", method, path,
                            str(exc).splitlines()[0][:200])
                return JSONResponse({"detail": "The metadata database is unavailable; retry shortly"},
                                    status_code=503, headers={"Retry-After": "2"})
            if isinstance(result, Response):
                return result
            status = 200
            if isinstance(result, tuple):
                result, status = result
            return JSONResponse(result, status_code=status)

        handle.__name__ = fn.__name__
        return Route(PREFIX + path, handle, methods=[method])

    def authenticate(self, request: Request):
        header = request.headers.get("authorization", "")
        if header[:7].lower() != "bearer ":
            raise Refused(401, "an agent credential is required (Authorization: Bearer ...)",
                          headers={"WWW-Authenticate": "Bearer"})
        token = header[7:].strip()
        if not token.startswith(credentials.CREDENTIAL_PREFIX) or len(token) > credentials.MAX_TOKEN_LENGTH:
            raise Refused(401, "not an agent credential")
        with self.engine.connect() as conn:
            agent = store.agent_by_credential(conn, credentials.digest(token))
        if agent is None:
            raise Refused(401, "the agent credential is not known or was revoked (enroll the agent again)")
        return agent

    def _held(self, conn, request: Request, body: dict, agent):
        """The job row the calling agent holds under the claim token it gives, else a 409."""
        job_id = _job_id(request)
        row = store.holds(conn, job_id, agent.name, _claim_token(body))
        if row is None:
            raise Refused(409, f"job {job_id!r} is not held by agent {agent.name!r} under that claim token "
                               "(it was never claimed by it, went back to the queue, or the agent was fenced)")
        return row

    # --- routes ------------------------------------------------------------------------------------

    def register(self, request: Request, body: dict, _agent) -> tuple[dict, int]:
        token = _str(body, "enrollment_token", max_len=credentials.MAX_TOKEN_LENGTH, required=True)
        version = _str(body, "version", max_len=50, required=True)
        concurrency = _int(body, "concurrency", low=1, high=4096, default=4)
        hostname = _str(body, "hostname", max_len=500) or ""
        name = _str(body, "name", max_len=200)
        if name is not None and credentials.name_problem(name):
            raise field_error("name", credentials.name_problem(name), name)
        asked_queues, problem = credentials.parse_queues(body.get("queues") or [])
        if problem:
            raise field_error("queues", problem, body.get("queues"))
        problem = credentials.version_problem(version, __version__)
        if problem:
            raise Refused(409, problem)
        with self.engine.begin() as conn:
            enrollment, why = store.use_enrollment(conn, credentials.digest(token))
            if enrollment is None:
                raise Refused(401, why)
            name = credentials.enrolled_name(enrollment.agent_name, name)
            if name is None:
                raise Refused(403, f"the enrollment token is for agent {enrollment.agent_name!r}"
                                   + (": give a --name that starts with its prefix"
                                      if enrollment.agent_name.endswith("*") else ", not that name"))
            queues = store.split_queues(enrollment.queues) or asked_queues or ["default"]
            credential = credentials.new_credential()
            store.register_agent(conn, name, queues, credentials.digest(credential),
                                 version=version, hostname=hostname, concurrency=concurrency)
        log.info("Agent %r registered (version %s, queues %s, concurrency %d)", name, version,
                 ",".join(queues), concurrency)
        return {"name": name, "credential": credential, "queues": queues,
                "server_version": __version__, **self._timing()}, 201

    def _timing(self) -> dict:
        return {"zombie_threshold": self.settings.zombie_threshold, "heartbeat_interval": HEARTBEAT_INTERVAL,
                "claim_lease": CLAIM_LEASE_SECONDS}

    async def claim(self, request: Request, body: dict, agent) -> dict:
        """Jobs of the agent's queues, up to its free slots; held up to `wait` s (at most 25) while none."""
        free = _int(body, "free_slots", low=0, high=4096, required=True)
        wait = body.get("wait", CLAIM_WAIT_SECONDS)
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not 0 <= wait <= CLAIM_WAIT_SECONDS:
            raise field_error("wait", f"must be a number of seconds from 0 to {CLAIM_WAIT_SECONDS:g}", wait)
        deadline = time.monotonic() + wait
        while True:
            answer = await run_in_threadpool(self._try_claim, agent.name, free)
            left = deadline - time.monotonic()
            if answer["jobs"] or answer["state"] != "active" or left <= 0 or free == 0:
                return answer
            if await request.is_disconnected():
                return answer  # nobody to hand a job to
            await wakeup.SIGNAL.wait(left)

    def _try_claim(self, name: str, free: int) -> dict:
        token = secrets.token_urlsafe(24)
        with self.engine.begin() as conn:
            agent = store.get_agent(conn, name)
            if agent is None or agent.state != "active":
                return {"jobs": [], "state": agent.state if agent else "removed"}
            if agent.last_heartbeat is None or agent.last_heartbeat < utcnow() - dt.timedelta(seconds=CLAIM_SILENCE):
                # A claim held since before the agent went quiet (its link may be cut): an answer now
                # would likely be lost, so the work waits for an agent that is heard from.
                return {"jobs": [], "state": "active"}
            rows = store.claim(conn, name, store.split_queues(agent.queues), min(free, MAX_CLAIM),
                               credentials.digest(token), CLAIM_LEASE_SECONDS)
        return {"state": "active", "jobs": [{"job_id": r.id, "claim_token": token, "queue": r.queue, "attempt": r.attempt,
                                             "bundle_sha": r.bundle_sha, "workload": json.loads(r.workload)}
                                            for r in rows]}

    def ack(self, request: Request, body: dict, agent) -> dict:
        with self.engine.begin() as conn:
            job_id = _job_id(request)
            if not store.acknowledge(conn, job_id, agent.name, _claim_token(body)):
                row = store.get_job(conn, job_id)
                why = "its lease expired and it went back to the queue" if row is not None else "it does not exist"
                raise Refused(409, f"job {job_id!r} cannot be acknowledged by agent {agent.name!r}: {why}, or the "
                                   "claim token is not the one it was claimed with")
        return {"job_id": job_id, "state": "running"}

    def release(self, request: Request, body: dict, agent) -> dict:
        with self.engine.begin() as conn:
            job_id = _job_id(request)
            if not store.release(conn, job_id, agent.name, _claim_token(body)):
                raise Refused(409, f"job {job_id!r} is not claimed by agent {agent.name!r} under that claim token")
        wakeup.work_arrived(self.services.bus)
        return {"job_id": job_id, "state": "queued"}

    def exit(self, request: Request, body: dict, agent) -> dict:
        exit_code = _int(body, "exit_code", low=-255, high=255)
        reason = _str(body, "reason", max_len=MAX_REASON)
        with self.engine.begin() as conn:
            job_id = _job_id(request)
            if not store.report_exit(conn, job_id, agent.name, _claim_token(body), exit_code, reason):
                raise Refused(409, f"the exit of job {job_id!r} is refused: agent {agent.name!r} does not hold it "
                                   "under that claim token (it was ended already, e.g. as a zombie)")
        self.services.bus.notify_scheduler(kind="executor_event")
        return {"job_id": job_id, "state": "done"}

    def logs(self, request: Request, body: dict, agent) -> dict:
        from ..store import log_chunks

        seq = _int(body, "seq", low=0, high=10_000_000, required=True)
        lines = _str(body, "lines", max_len=MAX_LOG_LINES, required=True)
        with self.engine.begin() as conn:
            row = self._held(conn, request, body, agent)
            ti = json.loads(row.workload)["ti"]
            key = (ti["dag_id"], ti["run_id"], ti["task_id"], ti.get("map_index", -1), ti["try_number"])
            stored = log_chunks.append(conn, key, seq, lines)
        return {"job_id": row.id, "seq": seq, "stored": stored}

    def heartbeat(self, request: Request, body: dict, agent) -> dict:
        free = _int(body, "free_slots", low=0, high=4096, required=True)
        running = body.get("running", [])
        if not isinstance(running, list) or len(running) > 4096 or not all(
                isinstance(j, str) and len(j) <= 300 for j in running):
            raise field_error("running", "must be a list of job ids", str(running)[:80])
        hostname = _str(body, "hostname", max_len=500)
        concurrency = _int(body, "concurrency", low=1, high=4096)
        with self.engine.begin() as conn:
            store.agent_heartbeat(conn, agent.name, free_slots=free, running=len(running), hostname=hostname,
                                  concurrency=concurrency)
            ended = store.end_unreported(conn, agent.name, running,
                                         utcnow() - dt.timedelta(seconds=UNREPORTED_GRACE))
            cancel = store.cancellations(conn, agent.name, running)
            state = store.get_agent(conn, agent.name).state
        if ended:
            self.services.bus.notify_scheduler(kind="executor_event")
        return {"state": state, "cancel": cancel, **self._timing()}

    def bundle(self, request: Request, _body: dict, _agent) -> Response:
        from .bundles import SHA256, bundle_bytes

        sha = request.path_params["sha256"]
        if not SHA256.match(sha):
            raise Refused(422, [{"loc": ["path", "sha256"], "msg": "must be 64 lowercase hex digits",
                                 "input": sha[:80]}])
        with self.engine.connect() as conn:
            data = bundle_bytes(conn, sha)
        if data is None:
            raise Refused(404, f"no DAG bundle {sha}")
        return Response(data, media_type="application/x-tar", headers={"X-Bundle-Sha256": sha})

    def routes(self) -> list[Route]:
        return [
            self.route("/register", self.register, authenticated=False),
            self.route("/claim", self.claim, blocking=False),
            self.route("/heartbeat", self.heartbeat),
            self.route("/jobs/{job_id:path}/ack", self.ack),
            self.route("/jobs/{job_id:path}/exit", self.exit),
            self.route("/jobs/{job_id:path}/release", self.release),
            self.route("/jobs/{job_id:path}/logs", self.logs, limit=MAX_LOG_BODY),
            self.route("/bundles/{sha256}", self.bundle, method="GET"),
        ]


def agent_routes(services) -> list[Route]:
    return AgentRoutes(services).routes()
