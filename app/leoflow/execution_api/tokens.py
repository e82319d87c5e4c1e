"""Per-task-instance JWTs: `sub` is the task instance id; a task may act only on itself."""

from __future__ import annotations

import time

import jwt

ALGORITHM = "HS256"
AUDIENCE = "urn:airflow.apache.org:task"
# Long enough for a long task; the runner's heartbeats keep it honest, not the expiry.
LIFETIME = 7 * 24 * 3600


def issue(secret: str, ti_id: str) -> str:
    now = int(time.time())
    return jwt.encode({"sub": ti_id, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + LIFETIME,
                       "scope": ["ti:self"]}, secret, algorithm=ALGORITHM)


def verify(secret: str, token: str) -> dict:
    """The claims, or raises jwt.InvalidTokenError."""
    return jwt.decode(token, secret, algorithms=[ALGORITHM], audience=AUDIENCE, leeway=5)
