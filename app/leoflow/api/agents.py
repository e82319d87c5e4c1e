"""`/api/v2/agents`: Leoflow's agents, for admins only (Airflow has no such resource).

GET lists them; POST `/agents/enrollments` makes a one-time enrollment token; PATCH `/agents/{name}`
with `{"action": "drain"|"resume"}`; DELETE `/agents/{name}` removes one (its credential is revoked at
once, its running tries are failed or retried).
"""

from __future__ import annotations

from ..agents import admin
from .errors import HTTPError, ValidationFailed, invalid
from .validate import json_body


def _refuse(exc: admin.AdminError):
    if exc.status == 422:
        return ValidationFailed([invalid(["body", exc.field or "body"], exc.message, None, "value_error")])
    return HTTPError(exc.status, exc.message)


def get_agents(services, request):
    with services.engine.connect() as conn:
        rows = admin.describe(conn)
    return {"agents": rows, "total_entries": len(rows)}


def post_enrollment(services, request):
    body = json_body(request)
    if not isinstance(body, dict):
        raise ValidationFailed([invalid(["body"], "Input should be a valid dictionary", body, "dict_type")])
    unknown = sorted(set(body) - {"name", "queues", "expires", "uses"})
    if unknown:
        raise ValidationFailed([invalid(["body", unknown[0]], "Extra inputs are not permitted", body[unknown[0]],
                                        "extra_forbidden")])
    user = getattr(request.state, "user", None)
    try:
        with services.engine.begin() as conn:
            return admin.enroll(conn, body.get("name"), body.get("queues"), body.get("expires", admin.DEFAULT_EXPIRY),
                                created_by=getattr(user, "username", None), uses=body.get("uses", 1)), 201
    except admin.AdminError as exc:
        raise _refuse(exc)


def patch_agent(services, request):
    body = json_body(request)
    action = body.get("action") if isinstance(body, dict) else None
    if action not in ("drain", "resume"):
        raise ValidationFailed([invalid(["body", "action"], "Input should be 'drain' or 'resume'", action,
                                        "literal_error")])
    try:
        with services.engine.begin() as conn:
            return admin.set_state(conn, request.path_params["agent_name"], action)
    except admin.AdminError as exc:
        raise _refuse(exc)


def delete_agent(services, request):
    try:
        with services.engine.begin() as conn:
            return admin.set_state(conn, request.path_params["agent_name"], "remove")
    except admin.AdminError as exc:
        raise _refuse(exc)


ROUTES = [
    ("/agents", ["GET"], get_agents),
    ("/agents/enrollments", ["POST"], post_enrollment),
    ("/agents/{agent_name}", ["PATCH"], patch_agent),
    ("/agents/{agent_name}", ["DELETE"], delete_agent),
]
