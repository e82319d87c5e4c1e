"""Small helpers shared by the Execution API routes: JSON bodies, errors, auth."""

from __future__ import annotations

import datetime as dt
import json

import jwt
from starlette.requests import Request
from starlette.responses import Response

from . import tokens

API_VERSION = "2026-04-06"


class HTTPError(Exception):
    def __init__(self, status: int, detail):
        self.status = status
        self.detail = detail


def not_found(message: str) -> HTTPError:
    return HTTPError(404, {"reason": "not_found", "message": message})


def to_json(value):
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def respond(body, status: int = 200) -> Response:
    return Response(json.dumps(body, default=to_json), status_code=status, media_type="application/json",
                    headers={"airflow-api-version": API_VERSION})


def no_content() -> Response:
    return Response(status_code=204, headers={"airflow-api-version": API_VERSION})


async def json_body(request: Request):
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except ValueError as exc:
        raise HTTPError(422, [{"type": "json_invalid", "loc": ["body"], "msg": f"JSON decode error: {exc}",
                               "input": raw[:200].decode(errors="replace")}])


def require_fields(body, fields: dict[str, type]) -> dict:
    """422 naming the field, as FastAPI would."""
    if not isinstance(body, dict):
        raise HTTPError(422, [{"type": "model_attributes_type", "loc": ["body"],
                               "msg": "Input should be a valid dictionary", "input": body}])
    errors = []
    for name, kind in fields.items():
        if name not in body:
            errors.append({"type": "missing", "loc": ["body", name], "msg": "Field required", "input": body})
        elif kind is not None and not isinstance(body[name], kind):
            errors.append({"type": f"{getattr(kind, '__name__', 'value')}_type", "loc": ["body", name],
                           "msg": f"Input should be a valid {getattr(kind, '__name__', 'value')}",
                           "input": body[name]})
    if errors:
        raise HTTPError(422, errors)
    return body


def parse_time(value, field: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise HTTPError(422, [{"type": "datetime_from_date_parsing", "loc": ["body", field],
                               "msg": "Input should be a valid datetime", "input": value}])
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def claims(request: Request, secret: str) -> dict:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        raise HTTPError(401, "Not authenticated")
    try:
        return tokens.verify(secret, header[7:].strip())
    except jwt.InvalidTokenError as exc:
        raise HTTPError(403, f"Invalid auth token: {exc}")


def require_self(request: Request, secret: str, ti_id: str) -> None:
    if claims(request, secret).get("sub") != ti_id:
        raise HTTPError(403, "Access denied: the token belongs to another task instance")
