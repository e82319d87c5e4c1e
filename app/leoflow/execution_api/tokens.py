"""Task tokens: JWTs whose `sub` is the task instance id, with Airflow 3.2's two scopes.

- `workload`: what an executor hands out with the job. It is accepted only to start the try
  (`PATCH .../run`), which answers with an `execution` token in the `Refreshed-API-Token` header.
- `execution`: the try's own token, short-lived (Airflow: 600 s), reissued through the same header
  while the try runs, so it never expires mid-run; refused once the try is finished.

`try_number` ties a token to one try: a token of an earlier try of the same task instance is refused.
"""

from __future__ import annotations

import time

import jwt

ALGORITHM = "HS256"
AUDIENCE = "urn:airflow.apache.org:task"
EXECUTION = "execution"
WORKLOAD = "workload"
SCOPES = frozenset({EXECUTION, WORKLOAD})
EXECUTION_LIFETIME = 600.0  # Airflow's [execution_api] jwt_expiration_time
# A queued try may wait for a free worker (an agent, a pod being scheduled) before it starts.
WORKLOAD_LIFETIME = 24 * 3600.0


def issue(secret: str, ti_id: str, *, scope: str = EXECUTION, lifetime: float | None = None,
          try_number: int | None = None) -> str:
    now = int(time.time())
    if lifetime is None:
        lifetime = WORKLOAD_LIFETIME if scope == WORKLOAD else EXECUTION_LIFETIME
    claims = {"sub": ti_id, "aud": AUDIENCE, "iat": now, "nbf": now, "exp": now + int(lifetime), "scope": scope}
    if try_number is not None:
        claims["try_number"] = try_number
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def reissue(secret: str, claims: dict, lifetime: float) -> str:
    """A fresh execution token for the same try."""
    return issue(secret, claims["sub"], scope=EXECUTION, lifetime=lifetime, try_number=claims.get("try_number"))


def refresh_due(claims: dict, lifetime: float, now: float | None = None) -> bool:
    """Airflow's rule: reissue once less than a fifth of the lifetime (at least 30 s) is left."""
    left = claims["exp"] - (time.time() if now is None else now)
    return left <= max(lifetime * 0.2, 30.0)


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
                        options={"require": ["exp", "sub"]})
    claims.setdefault("scope", EXECUTION)  # as Airflow: a token without a scope is an execution token
    if len(_VERIFIED) >= _VERIFIED_MAX:
        _VERIFIED.pop(next(iter(_VERIFIED)))
    _VERIFIED[(secret, token)] = claims
    return dict(claims)
