"""Small helpers shared by the Execution API routes: JSON bodies, errors, query parameters."""

from __future__ import annotations

import datetime as dt
import json

from starlette.requests import Request
from starlette.responses import Response


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
    return Response(json.dumps(body, default=to_json), status_code=status, media_type="application/json")


def no_content() -> Response:
    return Response(status_code=204)


async def json_body(request: Request):
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except ValueError as exc:
        raise HTTPError(422, [{"type": "json_invalid", "loc": ["body"], "msg": f"JSON decode error: {exc}",
                               "input": raw[:200].decode(errors="replace")}])


def require_fields(body, fields: dict[str, type], *, allowed: set[str] | None = None) -> dict:
    """422 naming the field, as FastAPI would; with `allowed`, fields outside it are errors too."""
    if not isinstance(body, dict):
        raise HTTPError(422, [{"type": "model_attributes_type", "loc": ["body"],
                               "msg": "Input should be a valid dictionary", "input": body}])
    errors = [] if allowed is None else _extra_errors(body, allowed)
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


def forbid_extra(body: dict, allowed: set[str] | frozenset[str]) -> None:
    """422 for a field the model does not have (Airflow's request models forbid extras)."""
    errors = _extra_errors(body, allowed)
    if errors:
        raise HTTPError(422, errors)


def _extra_errors(body: dict, allowed) -> list[dict]:
    return [{"type": "extra_forbidden", "loc": ["body", name], "msg": "Extra inputs are not permitted",
             "input": body[name]} for name in sorted(set(body) - set(allowed))]


def parse_time(value, field: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise HTTPError(422, [{"type": "datetime_from_date_parsing", "loc": ["body", field],
                               "msg": "Input should be a valid datetime", "input": value}])
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def query_time(request: Request, name: str) -> dt.datetime | None:
    raw = request.query_params.get(name)
    return parse_query_time(raw, name) if raw else None


def parse_query_time(raw: str, name: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise HTTPError(422, [{"type": "datetime_from_date_parsing", "loc": ["query", name],
                               "msg": "Input should be a valid datetime", "input": raw}])
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def query_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise HTTPError(422, [{"type": "int_parsing", "loc": ["query", name],
                               "msg": "Input should be a valid integer", "input": raw}])
    if not -(2**63) <= value < 2**63:  # the database's integers are 64-bit
        raise HTTPError(422, [{"type": "int_range", "loc": ["query", name],
                               "msg": "Input should fit in a 64-bit integer", "input": raw}])
    return value


def query_bool(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if raw.lower() in ("true", "1", "yes", "on"):
        return True
    if raw.lower() in ("false", "0", "no", "off"):
        return False
    raise HTTPError(422, [{"type": "bool_parsing", "loc": ["query", name],
                           "msg": "Input should be a valid boolean", "input": raw}])


def query_required(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if value is None:
        raise HTTPError(422, [{"type": "missing", "loc": ["query", name], "msg": "Field required", "input": None}])
    return value


def query_list(request: Request, name: str) -> list[str]:
    return [v for v in request.query_params.getlist(name) if v != ""]
