"""/variables: CRUD and bulk import of key/value settings; values encrypted at rest, sensitive ones shown as ***."""

from __future__ import annotations

import json

from sqlalchemy import select

from ..secrets import masker
from ..store import variables as store
from ..store.tables import variable
from . import admin_common as common
from . import queries
from .errors import HTTPError, ValidationFailed, not_found
from .validate import Query, json_body

_ORDER = {
    "key": variable.c.key, "id": variable.c.id, "_val": variable.c.val, "description": variable.c.description,
    "is_encrypted": variable.c.is_encrypted,
}
_FIELDS = {"key", "value", "description", "team_name"}


def shown_value(key: str, value: str | None) -> str | None:
    """The value as the API shows it: `***` for a sensitive key, sensitive keys masked inside JSON objects."""
    if value is None:
        return None
    if masker.is_sensitive(key):
        return masker.MASK
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    if isinstance(parsed, (dict, list)):
        return json.dumps(masker.redact(parsed))
    return value


def serialize(row, crypt) -> dict:
    return {
        "key": row.key,
        "value": shown_value(row.key, store.value_of(row, crypt)),
        "description": row.description,
        "is_encrypted": bool(row.is_encrypted),
        "team_name": None,
    }


def as_text(value) -> str:
    """A JSON value as the stored text: strings as they are, anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def check_entity(data, where, errors: list, *, partial_fields: set | None = None) -> dict:
    """One VariableBody; its errors are appended to `errors`."""
    required = {"key", "value"} if partial_fields is None else set()
    f = common.body_fields(data, allowed=_FIELDS, required=required, where=where)
    f.text("key", required=True, max_length=250)
    f.text("description")
    f.text("team_name", max_length=50)
    errors.extend(f.errors)
    return data if isinstance(data, dict) else {}


def _read_body(request) -> dict:
    errors: list = []
    data = check_entity(json_body(request), ["body"], errors)
    if errors:
        raise ValidationFailed(errors)
    return data


def get_variables(services, request):
    q = Query(request)
    limit, offset = q.paging()
    q.done()
    query = select(variable)
    if (cond := queries.like_any(variable.c.key, q.str("variable_key_pattern"))) is not None:
        query = query.where(cond)
    query = queries.ordered(query, q.list("order_by"), _ORDER, ["id"], tiebreak=variable.c.id)
    with services.engine.connect() as conn:
        rows, total = queries.page(conn, query, limit, offset)
    return {"variables": [serialize(r, services.crypt) for r in rows], "total_entries": total}


def get_variable(services, request):
    key = request.path_params["variable_key"]
    with services.engine.connect() as conn:
        row = store.get(conn, key)
    if row is None:
        raise not_found(f"The Variable with key: `{key}` was not found")
    return serialize(row, services.crypt)


def post_variable(services, request):
    data = _read_body(request)
    with services.engine.begin() as conn:
        common.record(conn, request, "post_variable", body=data, masking="variable")
    with services.engine.begin() as conn:
        if store.get(conn, data["key"]) is not None:
            raise HTTPError(409, f"The Variable with key: `{data['key']}` already exists")
        store.put(conn, data["key"], as_text(data["value"]), data.get("description"), crypt=services.crypt)
        row = store.get(conn, data["key"])
    return serialize(row, services.crypt), 201


def _apply_patch(conn, services, key: str, data: dict, update_mask) -> None:
    """Update one variable from a VariableBody; `update_mask` limits the fields written."""
    if data.get("key") != key:
        raise HTTPError(400, "Invalid body, key from request body doesn't match uri parameter")
    row = store.get(conn, key)
    if row is None:
        raise not_found(f"The Variable with key: `{key}` was not found")
    fields = set(data) - {"key"}  # only the fields the body sets, as a PATCH
    if update_mask:
        if "key" in update_mask:
            raise HTTPError(400, "Update not allowed: the following fields are immutable and cannot be "
                                 "modified: {'key'}")
        fields &= set(update_mask)
    stored = store.value_of(row, services.crypt)
    value = as_text(data["value"]) if "value" in fields else stored
    value = masker.merge(value, stored, key)  # the `***` a form was shown keeps the stored value
    if value != stored and stored is not None and isinstance(data.get("value"), (dict, list)):
        try:  # a JSON value shown with masked keys keeps those keys' stored values
            value = json.dumps(masker.merge(data["value"], json.loads(stored)))
        except ValueError:
            pass
    description = data.get("description") if "description" in fields else row.description
    store.put(conn, key, value, description, crypt=services.crypt)


def patch_variable(services, request):
    key = request.path_params["variable_key"]
    q = Query(request)
    mask = q.list("update_mask") or None
    q.done()
    data = _read_body(request)
    with services.engine.begin() as conn:
        common.record(conn, request, "patch_variable", body=data, masking="variable")
    with services.engine.begin() as conn:
        _apply_patch(conn, services, key, data, mask)
        row = store.get(conn, key)
    return serialize(row, services.crypt)


def delete_variable(services, request):
    key = request.path_params["variable_key"]
    with services.engine.begin() as conn:
        common.record(conn, request, "delete_variable", masking="variable")
    with services.engine.begin() as conn:
        if not store.remove(conn, key):
            raise not_found(f"The Variable with key: `{key}` was not found")
    return common.no_content()


def bulk_variables(services, request):
    actions = common.read_bulk(request, check_entity)
    with services.engine.begin() as conn:
        common.record(conn, request, "bulk_variables", body=json.loads(request.state.body),
                      masking="variable")

    def existing(conn, keys):
        rows = conn.execute(select(variable.c.key).where(variable.c.key.in_(list(keys)))).scalars()
        return set(rows)

    def create(conn, action, results):
        keys = [e["key"] for e in action["entities"]]
        found = existing(conn, keys)
        if action["mode"] == "fail" and found:
            raise common.BulkError(409, f"The variables with these keys: {common.py_set(found)} already exist.")
        for entity in action["entities"]:
            if action["mode"] == "skip" and entity["key"] in found:
                continue
            store.put(conn, entity["key"], as_text(entity["value"]), entity.get("description"),
                      crypt=services.crypt)
            results["success"].append(entity["key"])

    def update(conn, action, results):
        keys = [e["key"] for e in action["entities"]]
        missing = set(keys) - existing(conn, keys)
        if action["mode"] == "fail" and missing:
            raise common.BulkError(404, f"The variables with these keys: {common.py_set(missing)} were not "
                                        f"found.")
        for entity in action["entities"]:
            if entity["key"] in missing:
                continue
            _apply_patch(conn, services, entity["key"], entity, action["update_mask"])
            results["success"].append(entity["key"])

    def delete(conn, action, results):
        keys = [e if isinstance(e, str) else e.get("key") for e in action["entities"]]
        missing = set(keys) - existing(conn, keys)
        if action["mode"] == "fail" and missing:
            raise common.BulkError(404, f"The variables with these keys: {common.py_set(missing)} were not "
                                        f"found.")
        for key in keys:
            if key in missing:
                continue
            store.remove(conn, key)
            results["success"].append(key)

    return common.run_bulk(services, actions, {"create": create, "update": update, "delete": delete})


ROUTES = [
    ("/variables", ["GET"], get_variables),
    ("/variables", ["POST"], post_variable),
    ("/variables", ["PATCH"], bulk_variables),
    ("/variables/{variable_key:path}", ["GET"], get_variable),
    ("/variables/{variable_key:path}", ["PATCH"], patch_variable),
    ("/variables/{variable_key:path}", ["DELETE"], delete_variable),
]
