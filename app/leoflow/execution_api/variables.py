"""Execution API: Variables (`/variables/{key}`, a key may contain `/`), read and written by tasks."""

from __future__ import annotations

from ..store import variables
from .http import HTTPError, no_content, not_found, respond, require_fields


def get_variable(call, variable_key):
    with call.engine.connect() as conn:
        row = variables.get(conn, variable_key)
    if row is None:
        raise not_found(f"Variable with key '{variable_key}' not found")
    return respond({"key": row.key, "value": variables.value_of(row, call.services.crypt)})


def put_variable(call, variable_key):
    """Airflow's VariablePostBody: `val` (a string or null) and an optional `description`."""
    body = require_fields(call.body, {"val": None}, allowed={"val", "description"})
    for name in ("val", "description"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise HTTPError(422, [{"type": "string_type", "loc": ["body", name], "msg": "Input should be a valid "
                                   "string", "input": body[name]}])
    with call.engine.begin() as conn:
        variables.put(conn, variable_key, body["val"], body.get("description"), crypt=call.services.crypt)
    return respond({"message": "Variable successfully set"}, 201)


def delete_variable(call, variable_key):
    with call.engine.begin() as conn:
        variables.remove(conn, variable_key)
    return no_content()
