"""What orchestrators and Prometheus ask: `/livez`, `/readyz` and `/metrics`.

`/livez` answers as long as the process serves requests (a liveness probe restarts a hung one);
`/readyz` answers 200 only while this process can do its job: the database answers, its schema is the
one this build expects, and the process is not stopping (a readiness probe takes it out of the load
balancer). Both are public and cheap. `/metrics` (Prometheus text) needs a bearer token: the static
LEOFLOW_METRICS_TOKEN, or an admin's API token (ADR 15).
"""

from __future__ import annotations

import hmac

from starlette.responses import JSONResponse, Response

from .errors import HTTPError


def livez(services, request):
    return {"status": "alive"}


def readyz(services, request):
    from sqlalchemy.exc import SQLAlchemyError

    from ..store import migrate

    checks = {"database": "ok", "schema": "ok", "process": "ok"}
    try:
        state, revision = migrate.schema_state(services.engine)
        if state != "current":
            checks["schema"] = f"{state} (at {revision}; this build needs {_head()})"
    except SQLAlchemyError as exc:
        checks["database"] = f"unreachable: {str(exc).splitlines()[0][:200]}"
        checks["schema"] = "unknown"
    if getattr(services, "stopping", None) is not None and services.stopping.is_set():
        checks["process"] = "stopping"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                        status_code=200 if ready else 503)


def _head() -> str:
    from ..store.migrations_head import HEAD

    return HEAD


def metrics(services, request):
    from .. import metrics as m

    if not m.enabled():
        raise HTTPError(404, "Metrics are off: set LEOFLOW_METRICS=true")
    _check_metrics_token(services, request)
    body, content_type = m.exposition()
    return Response(body, media_type=content_type.split(";")[0], headers={"content-type": content_type})


def _check_metrics_token(services, request) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip() if scheme.lower() == "bearer" else ""
    if not token:
        raise HTTPError(401, "Not authenticated")
    expected = services.settings.metrics_token
    if expected and hmac.compare_digest(token.encode(), expected.encode()):
        return
    user = request.state.auth.verify(token)
    if not user.may("admin"):
        raise HTTPError(403, f"Forbidden: the {user.role} role may not read the metrics (needs admin)")


ROUTES = [
    ("/livez", ["GET"], livez, "public"),
    ("/readyz", ["GET"], readyz, "public"),
    ("/metrics", ["GET"], metrics, "public"),  # its own token check above
]
