"""Agents on other hosts: their enrollments and credentials (hashes only), and the job table they claim from.

A job row is one try handed to the agents. Its state moves only forward, each step a compare-and-set:
queued -> claimed (an agent got it, with a claim token and a lease) -> running (the agent acknowledged
the claim) -> done (its exit is known) -> recorded (a scheduler took the exit). A claim whose lease
expires unacknowledged goes back to queued; every write names the agent and its claim token, so a
late or forged report changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import delete, func, select, update

from .engine import upsert_insert
from .tables import agent, agent_enrollment, agent_job, dag_bundle
from .types import utcnow

LIVE_JOB_STATES = ("queued", "claimed", "running")
HELD_JOB_STATES = ("claimed", "running")


def split_queues(text: str | None) -> list[str]:
    return [q for q in (part.strip() for part in (text or "").split(",")) if q]


# --- enrollment -------------------------------------------------------------------------------------


def create_enrollment(conn, token_hash: str, name: str, queues: list[str] | None, expires_at: dt.datetime,
                      created_by: str | None, max_uses: int = 1) -> None:
    conn.execute(agent_enrollment.insert().values(
        token_hash=token_hash, agent_name=name, queues=",".join(queues) if queues else None,
        created_by=created_by, created_at=utcnow(), expires_at=expires_at, max_uses=max_uses, uses=0))


USED = "the enrollment token was used already (make a new one with `leoflow agents enroll`)"


def use_enrollment(conn, token_hash: str) -> tuple[object | None, str | None]:
    """(the enrollment row, None) while it has uses left, else (None, why it is refused); the use is
    counted at once (compare-and-set: two registrations cannot both take the last use)."""
    e = agent_enrollment
    row = conn.execute(select(e).where(e.c.token_hash == token_hash)).first()
    if row is None:
        return None, "the enrollment token is not known"
    if row.expires_at <= utcnow():
        return None, "the enrollment token expired (make a new one with `leoflow agents enroll`)"
    used, limit = func.coalesce(e.c.uses, 0), func.coalesce(e.c.max_uses, 1)
    taken = conn.execute(update(e).where(e.c.token_hash == token_hash, used < limit).values(
        uses=used + 1, used_at=func.coalesce(e.c.used_at, utcnow()))).rowcount
    if not taken:
        return None, USED
    return row, None


# --- agents -----------------------------------------------------------------------------------------


def register_agent(conn, name: str, queues: list[str], credential_hash: str, *, version: str, hostname: str,
                   concurrency: int) -> None:
    """A new agent, or a re-enrolled one under its name: its old credential stops working now."""
    now = utcnow()
    values = dict(state="active", queues=",".join(queues), credential_hash=credential_hash, version=version,
                  hostname=hostname, concurrency=concurrency, free_slots=concurrency, running=0,
                  registered_at=now, last_heartbeat=now)
    if conn.execute(update(agent).where(agent.c.name == name).values(**values)).rowcount == 0:
        conn.execute(agent.insert().values(name=name, **values))


def agent_by_credential(conn, credential_hash: str):
    return conn.execute(select(agent).where(agent.c.credential_hash == credential_hash,
                                            agent.c.state != "removed")).first()


def get_agent(conn, name: str):
    return conn.execute(select(agent).where(agent.c.name == name)).first()


def all_agents(conn) -> list:
    return conn.execute(select(agent).order_by(agent.c.name)).all()


def set_agent_state(conn, name: str, state: str) -> bool:
    """drain (no new claims) or resume an agent that is not removed."""
    return bool(conn.execute(update(agent).where(agent.c.name == name, agent.c.state != "removed")
                             .values(state=state)).rowcount)


def remove_agent(conn, name: str, reason: str) -> int | None:
    """Revoke the agent's credential now; its live jobs end with `reason` (their tries are failed or
    retried by the scheduler). None when there is no such agent, else how many jobs were ended."""
    if not conn.execute(update(agent).where(agent.c.name == name)
                        .values(state="removed", credential_hash=None, free_slots=0)).rowcount:
        return None
    return end_jobs_of(conn, name, reason)


def agent_heartbeat(conn, name: str, *, free_slots: int, running: int, hostname: str | None,
                    concurrency: int | None = None) -> None:
    values = dict(free_slots=max(free_slots, 0), running=max(running, 0), last_heartbeat=utcnow())
    if concurrency:
        values["concurrency"] = concurrency
    if hostname:
        values["hostname"] = hostname[:500]
    conn.execute(update(agent).where(agent.c.name == name, agent.c.state != "removed").values(**values))


def silent_agents(conn, before: dt.datetime) -> list[str]:
    """Agents, not removed, whose last heartbeat is older than `before` and who still hold jobs."""
    holding = select(agent_job.c.id).where(agent_job.c.agent_name == agent.c.name,
                                           agent_job.c.state.in_(HELD_JOB_STATES)).exists()
    return list(conn.execute(select(agent.c.name).where(agent.c.state != "removed",
                                                        agent.c.last_heartbeat < before, holding)).scalars())


def capacity(conn, heard_since: dt.datetime) -> int:
    """Slots free on the agents heard from since `heard_since` and taking work: their concurrency less the
    jobs they hold and the jobs waiting in the queues they serve. From the job table, which is current
    (a heartbeat's free-slot count is up to a heartbeat old)."""
    live = conn.execute(select(agent.c.name, agent.c.concurrency, agent.c.queues).where(
        agent.c.state == "active", agent.c.last_heartbeat >= heard_since)).all()
    if not live:
        return 0
    total = sum(row.concurrency for row in live)
    held = conn.execute(select(func.count()).select_from(agent_job).where(
        agent_job.c.state.in_(HELD_JOB_STATES), agent_job.c.agent_name.in_([row.name for row in live]))).scalar()
    served = {q for row in live for q in split_queues(row.queues)}  # a job no live agent can take holds no slot
    waiting = conn.execute(select(func.count()).select_from(agent_job).where(
        agent_job.c.state == "queued", agent_job.c.queue.in_(served))).scalar()
    return max(total - int(held or 0) - int(waiting or 0), 0)


def live_queues(conn, heard_since: dt.datetime) -> set[str]:
    rows = conn.execute(select(agent.c.queues).where(agent.c.state == "active",
                                                     agent.c.last_heartbeat >= heard_since)).scalars()
    return {q for text in rows for q in split_queues(text)}


# --- jobs -------------------------------------------------------------------------------------------


def enqueue(conn, job_id: str, *, ti_id: str, try_number: int, attempt: str | None, queue: str, workload: dict,
            bundle_sha: str | None) -> None:
    now = utcnow()
    conn.execute(agent_job.insert().values(
        id=job_id, ti_id=ti_id, try_number=try_number, attempt=attempt, queue=queue, workload=json.dumps(workload),
        bundle_sha=bundle_sha, state="queued", created_at=now, updated_at=now))


def claim(conn, agent_name: str, queues: list[str], limit: int, token_hash: str, lease_seconds: float) -> list:
    """Up to `limit` queued jobs of `queues`, oldest first, now claimed by `agent_name` under one claim
    token. Rows another transaction is claiming are skipped, not waited for (FOR UPDATE SKIP LOCKED)."""
    if limit <= 0 or not queues:
        return []
    rows = conn.execute(select(agent_job.c.id).where(agent_job.c.state == "queued", agent_job.c.queue.in_(queues))
                        .order_by(agent_job.c.created_at, agent_job.c.id).limit(limit)
                        .with_for_update(skip_locked=True)).scalars().all()
    if not rows:
        return []
    now = utcnow()
    conn.execute(update(agent_job).where(agent_job.c.id.in_(rows), agent_job.c.state == "queued").values(
        state="claimed", agent_name=agent_name, claim_token_hash=token_hash,
        lease_expires=now + dt.timedelta(seconds=lease_seconds), updated_at=now))
    return conn.execute(select(agent_job).where(agent_job.c.id.in_(rows), agent_job.c.agent_name == agent_name,
                                                agent_job.c.claim_token_hash == token_hash)).all()


def _held_by(job_id: str, agent_name: str, token_hash: str):
    return (agent_job.c.id == job_id, agent_job.c.agent_name == agent_name,
            agent_job.c.claim_token_hash == token_hash)


def get_job(conn, job_id: str):
    return conn.execute(select(agent_job).where(agent_job.c.id == job_id)).first()


def acknowledge(conn, job_id: str, agent_name: str, token_hash: str) -> bool:
    """claimed -> running (or running already: a repeated acknowledgement whose answer was lost)."""
    if conn.execute(update(agent_job).where(*_held_by(job_id, agent_name, token_hash),
                                            agent_job.c.state == "claimed")
                    .values(state="running", lease_expires=None, updated_at=utcnow())).rowcount:
        return True
    row = get_job(conn, job_id)
    return (row is not None and row.state == "running" and row.agent_name == agent_name
            and row.claim_token_hash == token_hash)


def report_exit(conn, job_id: str, agent_name: str, token_hash: str, exit_code: int | None,
                reason: str | None) -> bool:
    """The job's process ended: done. True also for a repeated report of the same end."""
    if conn.execute(update(agent_job).where(*_held_by(job_id, agent_name, token_hash),
                                            agent_job.c.state.in_(HELD_JOB_STATES))
                    .values(state="done", exit_code=exit_code, reason=reason, updated_at=utcnow())).rowcount:
        return True
    row = get_job(conn, job_id)
    return (row is not None and row.state in ("done", "recorded") and row.agent_name == agent_name
            and row.claim_token_hash == token_hash and row.exit_code == exit_code and row.reason == reason)


def holds(conn, job_id: str, agent_name: str, token_hash: str) -> object | None:
    """The job row when `agent_name` holds it under that token (any state: logs may come after its end)."""
    return conn.execute(select(agent_job).where(*_held_by(job_id, agent_name, token_hash))).first()


def cancel(conn, ti_id: str, try_number: int, reason: str) -> int:
    """Ask for a try's jobs to end: one not claimed yet ends now, a held one is killed by its agent (told
    in its next heartbeat answer). How many live jobs the try had."""
    now = utcnow()
    where = (agent_job.c.ti_id == ti_id, agent_job.c.try_number == try_number)
    ended = conn.execute(update(agent_job).where(*where, agent_job.c.state == "queued")
                         .values(state="done", reason=reason, updated_at=now)).rowcount
    told = conn.execute(update(agent_job).where(*where, agent_job.c.state.in_(HELD_JOB_STATES),
                                                agent_job.c.cancel_reason.is_(None))
                        .values(cancel_reason=reason, updated_at=now)).rowcount
    held = conn.execute(select(func.count()).select_from(agent_job)
                        .where(*where, agent_job.c.state.in_(HELD_JOB_STATES))).scalar()
    return ended + max(told, held or 0)


def cancellations(conn, agent_name: str, running_ids: list[str]) -> list[dict]:
    """What the agent must kill: its held jobs a cancellation was asked for, and any job it says it runs
    that is not its live job any more (ended as a zombie, re-queued, or never its own)."""
    rows = conn.execute(select(agent_job.c.id, agent_job.c.cancel_reason).where(
        agent_job.c.agent_name == agent_name, agent_job.c.state.in_(HELD_JOB_STATES),
        agent_job.c.cancel_reason.is_not(None))).all()
    out = [{"job_id": r.id, "reason": r.cancel_reason} for r in rows]
    if running_ids:
        live = set(conn.execute(select(agent_job.c.id).where(
            agent_job.c.id.in_(running_ids), agent_job.c.agent_name == agent_name,
            agent_job.c.state.in_(HELD_JOB_STATES))).scalars())
        told = {item["job_id"] for item in out}
        out += [{"job_id": job_id, "reason": "the server no longer counts this try as the agent's"}
                for job_id in running_ids if job_id not in live and job_id not in told]
    return out


def end_jobs_of(conn, agent_name: str, reason: str) -> int:
    """Every job the agent holds ends now with `reason` (it was removed, or went silent)."""
    return conn.execute(update(agent_job).where(agent_job.c.agent_name == agent_name,
                                                agent_job.c.state.in_(HELD_JOB_STATES))
                        .values(state="done", reason=reason, updated_at=utcnow())).rowcount


def requeue_expired_claims(conn) -> int:
    """Claims not acknowledged within their lease (the claim's answer was lost): back to the queue."""
    return conn.execute(update(agent_job).where(agent_job.c.state == "claimed",
                                                agent_job.c.lease_expires < utcnow())
                        .values(state="queued", agent_name=None, claim_token_hash=None, lease_expires=None,
                                updated_at=utcnow())).rowcount


def take_exits(conn, limit: int = 500) -> list:
    """Ended jobs no scheduler recorded yet, now marked recorded: each exit is taken by one replica."""
    rows = conn.execute(select(agent_job).where(agent_job.c.state == "done").order_by(agent_job.c.updated_at)
                        .limit(limit).with_for_update(skip_locked=True)).all()
    if rows:
        conn.execute(update(agent_job).where(agent_job.c.id.in_([r.id for r in rows]),
                                             agent_job.c.state == "done").values(state="recorded"))
    return rows


def live_jobs(conn) -> list:
    return conn.execute(select(agent_job.c.id, agent_job.c.ti_id, agent_job.c.try_number, agent_job.c.attempt,
                               agent_job.c.state, agent_job.c.agent_name)
                        .where(agent_job.c.state.in_(LIVE_JOB_STATES))).all()


def running_by_agent(conn) -> dict[str, int]:
    return dict(conn.execute(select(agent_job.c.agent_name, func.count()).where(
        agent_job.c.state.in_(HELD_JOB_STATES)).group_by(agent_job.c.agent_name)).all())


def forget_recorded(conn, before: dt.datetime) -> int:
    """Recorded jobs older than `before` (their exits were taken long ago)."""
    return conn.execute(delete(agent_job).where(agent_job.c.state == "recorded",
                                                agent_job.c.updated_at < before)).rowcount


def waiting_reason(conn, ti_id: str, heard_since: dt.datetime) -> str | None:
    """Why a try handed to the agents waits, when no live agent serves its queue."""
    row = conn.execute(select(agent_job.c.queue).where(agent_job.c.ti_id == ti_id,
                                                       agent_job.c.state == "queued")).first()
    if row is None or row.queue in live_queues(conn, heard_since):
        return None
    return f"no live agent serves queue {row.queue!r}"


# --- DAG bundles ------------------------------------------------------------------------------------


def put_bundle(conn, sha256: str, data: bytes) -> None:
    """Store a bundle unless it is there; two replicas storing the same one at once both succeed (the
    insert skips a row another transaction just wrote), so neither's run creation fails on it."""
    if conn.execute(select(dag_bundle.c.sha256).where(dag_bundle.c.sha256 == sha256)).first() is not None:
        return
    values = dict(sha256=sha256, data=data, size=len(data), created_at=utcnow())
    dialect = conn.dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = upsert_insert(dialect)
        conn.execute(insert(dag_bundle).values(**values).on_conflict_do_nothing(index_elements=["sha256"]))
    else:
        conn.execute(dag_bundle.insert().values(**values))


def get_bundle(conn, sha256: str) -> bytes | None:
    return conn.execute(select(dag_bundle.c.data).where(dag_bundle.c.sha256 == sha256)).scalar()


def has_bundle(conn, sha256: str) -> bool:
    return conn.execute(select(dag_bundle.c.sha256).where(dag_bundle.c.sha256 == sha256)).first() is not None



def queued_without_job(conn, older_than: dt.datetime) -> list[str]:
    """Task instances queued for the agents before `older_than` whose job row was never written (the
    replica that queued them died in between): they go back to scheduled."""
    from .tables import task_instance as ti

    has_job = select(agent_job.c.id).where(agent_job.c.ti_id == ti.c.id,
                                           agent_job.c.try_number == ti.c.try_number).exists()
    return list(conn.execute(select(ti.c.id).where(ti.c.state == "queued", ti.c.executor == "AgentExecutor",
                                                   ti.c.queued_dttm < older_than, ~has_job)).scalars())


def drop_stale_queued(conn) -> int:
    """Unclaimed jobs whose try is not queued any more (failed by task_queued_timeout, its run marked
    failed, cleared): no agent should start them; they are put aside as recorded, with the reason."""
    from .tables import task_instance as ti

    still_queued = select(ti.c.id).where(ti.c.id == agent_job.c.ti_id, ti.c.try_number == agent_job.c.try_number,
                                         ti.c.state == "queued").exists()
    return conn.execute(update(agent_job).where(agent_job.c.state == "queued", ~still_queued).values(
        state="recorded", reason="the try was no longer queued when an agent could take it",
        updated_at=utcnow())).rowcount


def end_unreported(conn, agent_name: str, running_ids: list[str], acknowledged_before: dt.datetime) -> int:
    """Jobs the agent acknowledged (before `acknowledged_before`) but no longer says it runs: it was
    restarted, or lost them. They end now, so their tries are retried or failed."""
    where = [agent_job.c.agent_name == agent_name, agent_job.c.state == "running",
             agent_job.c.updated_at < acknowledged_before]
    if running_ids:
        where.append(agent_job.c.id.not_in(running_ids))
    return conn.execute(update(agent_job).where(*where).values(
        state="done", reason=f"agent {agent_name!r} no longer runs the try (it was restarted or lost it)",
        updated_at=utcnow())).rowcount


def release(conn, job_id: str, agent_name: str, token_hash: str) -> bool:
    """A claim the agent will not run (it began draining meanwhile): back on the queue at once."""
    return bool(conn.execute(update(agent_job).where(*_held_by(job_id, agent_name, token_hash),
                                                     agent_job.c.state == "claimed")
                             .values(state="queued", agent_name=None, claim_token_hash=None, lease_expires=None,
                                     updated_at=utcnow())).rowcount)
