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


# A task presents the same token on each of its requests: its signature is checked once, its time
# limits on every use. Bounded: the oldest go first.
_VERIFIED: dict[tuple[str, str], dict] = {}
_VERIFIED_MAX = 4096
LEEWAY = 5


def verify(secret: str, token: str) -> dict:
    """The claims, or raises jwt.InvalidTokenError."""
    claims = _VERIFIED.get((secret, token))
    if claims is not None:
        now = time.time()
        if claims["exp"] + LEEWAY < now:
            raise jwt.ExpiredSignatureError("Signature has expired")
        if claims.get("nbf", 0) - LEEWAY > now:
            raise jwt.ImmatureSignatureError("The token is not yet valid (nbf)")
        return dict(claims)
    claims = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=AUDIENCE, leeway=LEEWAY,
                        options={"require": ["exp"]})
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.pop(next(iter(_VERIFIED)))
    _VERIFIED[(secret, token)] = claims
    return dict(claims)
