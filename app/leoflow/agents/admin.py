"""What an admin does with agents, for the CLI (`leoflow agents ...`) and the REST API alike."""

from __future__ import annotations

import datetime as dt
import re

from ..store import agents as store
from ..store.types import utcnow
from . import credentials

DEFAULT_EXPIRY = "1h"
MAX_EXPIRY = dt.timedelta(days=30)
_DURATION = re.compile(r"^\s*(\d{1,7})\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


class AdminError(Exception):
    def __init__(self, field: str | None, message: str, status: int = 422):
        super().__init__(message)
        self.field, self.message, self.status = field, message, status


def parse_duration(text) -> dt.timedelta:
    match = _DURATION.match(str(text)) if isinstance(text, (str, int)) and not isinstance(text, bool) else None
    if not match:
        raise AdminError("expires", f"{str(text)[:40]!r} is not a duration (like 90s, 30m, 1h, 2d)")
    delta = dt.timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])
    if not dt.timedelta(seconds=1) <= delta <= MAX_EXPIRY:
        raise AdminError("expires", "an enrollment token lasts from 1 s to 30 days")
    return delta


MAX_USES = 10_000


def enroll(conn, name, queues=None, expires=DEFAULT_EXPIRY, created_by: str | None = None, uses=1) -> dict:
    """An enrollment token for agent `name`, good once (or `uses` times for a fleet named `prefix*`);
    shown once: only its hash is kept."""
    problem = credentials.enrollment_name_problem(name)
    if problem:
        raise AdminError("name", problem)
    if isinstance(uses, bool) or not isinstance(uses, int) or not 1 <= uses <= MAX_USES:
        raise AdminError("uses", f"uses is from 1 to {MAX_USES}")
    if uses > 1 and not name.endswith("*"):
        raise AdminError("uses", "a token for several agents names them by a prefix ending in '*' (workers-*)")
    parsed, problem = credentials.parse_queues(queues or [])
    if problem:
        raise AdminError("queues", problem)
    expires_at = utcnow() + parse_duration(expires)
    token = credentials.new_enrollment_token()
    store.create_enrollment(conn, credentials.digest(token), name, parsed or None, expires_at, created_by,
                            max_uses=uses)
    return {"name": name, "token": token, "queues": parsed, "uses": uses, "expires_at": expires_at.isoformat()}


def describe(conn) -> list[dict]:
    running = store.running_by_agent(conn)
    return [{"name": a.name, "state": a.state, "queues": store.split_queues(a.queues),
             "concurrency": a.concurrency, "free_slots": a.free_slots if a.state != "removed" else 0,
             "running": running.get(a.name, 0), "version": a.version, "hostname": a.hostname,
             "last_heartbeat": a.last_heartbeat.isoformat() if a.last_heartbeat else None,
             "registered_at": a.registered_at.isoformat()} for a in store.all_agents(conn)]


def set_state(conn, name: str, action: str) -> dict:
    """drain, resume or remove the agent `name`."""
    if store.get_agent(conn, name) is None:
        raise AdminError("name", f"there is no agent {name!r}", status=404)
    if action == "remove":
        ended = store.remove_agent(conn, name, f"agent {name!r} was removed while the try ran")
        return {"name": name, "state": "removed", "ended_tries": ended or 0}
    state = {"drain": "draining", "resume": "active"}[action]
    if not store.set_agent_state(conn, name, state):
        raise AdminError("name", f"agent {name!r} was removed: enroll it again", status=409)
    return {"name": name, "state": state}
