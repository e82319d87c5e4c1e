"""/connections: CRUD, bulk, defaults and test; password and extra encrypted at rest, never shown in clear."""

from __future__ import annotations

import json
import os
import socket

from sqlalchemy import select

from ..secrets import masker
from ..store import connections as store
from ..store.tables import connection
from . import admin_common as common
from . import queries
from .default_connections import DEFAULT_CONNECTIONS
from .errors import HTTPError, ValidationFailed, not_found
from .validate import Query, json_body

_ORDER = {
    "conn_id": connection.c.conn_id, "connection_id": connection.c.conn_id, "conn_type": connection.c.conn_type,
    "description": connection.c.description, "host": connection.c.host, "port": connection.c.port,
    "id": connection.c.id,
}
_FIELDS = {"connection_id", "conn_type", "description", "host", "login", "schema", "port", "password", "extra",
           "team_name"}
_ID_PATTERN = r"^[\w.-]+$"


def shown_extra(extra: str | None) -> str | None:
    """Extra as the API shows it: sensitive keys masked; text that is not a JSON object never shown."""
    if extra is None or extra == "":
        return extra
    try:
        parsed = json.loads(extra)
    except ValueError:
        return masker.MASK
    return json.dumps(masker.redact(parsed))


def serialize(row, crypt) -> dict:
    data = store.clear(row, crypt)
    return {
        "connection_id": data["conn_id"],
        "conn_type": data["conn_type"],
        "description": data["description"],
        "host": data["host"],
        "login": data["login"],
        "schema": data["schema"],
        "port": data["port"],
        "password": masker.MASK if data["password"] is not None else None,
        "extra": shown_extra(data["extra"]),
        "team_name": None,
    }


def check_entity(data, where, errors: list) -> dict:
    """One ConnectionBody (clear-text values keyed as the table's columns, plus `conn_id`)."""
    f = common.body_fields(data, allowed=_FIELDS, required={"connection_id", "conn_type"}, where=where)
    f.text("connection_id", required=True, max_length=200, pattern=_ID_PATTERN)
    f.text("conn_type", required=True)
    for name in ("description", "host", "login", "schema", "password"):
        f.text(name)
    f.text("team_name", max_length=50)
    f.integer("port")
    extra = f.text("extra")
    if extra == "":
        data["extra"] = "{}"  # as Airflow: an empty extra is an empty object
    elif extra is not None:
        try:
            ok = isinstance(json.loads(extra), dict)
            msg = "Value error, The `extra` field must be a valid JSON object (e.g., {'key': 'value'})"
        except ValueError:
            ok = False
            msg = ("Value error, The `extra` field must be a valid JSON object (e.g., {'key': 'value'}), but "
                   "encountered non-JSON in `extra` field")
        if not ok:
            f.fail("extra", msg, extra, "value_error")
    errors.extend(f.errors)
    return data if isinstance(data, dict) else {}


def _read_body(request) -> dict:
    errors: list = []
    data = check_entity(json_body(request), ["body"], errors)
    if errors:
        raise ValidationFailed(errors)
    return data


def _columns(data: dict, fields=None) -> dict:
    """Table column values from a ConnectionBody (only `fields` if given)."""
    names = [n for n in store.FIELDS if (fields is None or n in fields)]
    return {n: data.get(n) for n in names}


def get_connections(services, request):
    q = Query(request)
    limit, offset = q.paging()
    q.done()
    query = select(connection)
    if (cond := queries.like_any(connection.c.conn_id, q.str("connection_id_pattern"))) is not None:
        query = query.where(cond)
    query = queries.ordered(query, q.list("order_by"), _ORDER, ["id"], tiebreak=connection.c.id)
    with services.engine.connect() as conn:
        rows, total = queries.page(conn, query, limit, offset)
    return {"connections": [serialize(r, services.crypt) for r in rows], "total_entries": total}


def get_connection(services, request):
    conn_id = request.path_params["connection_id"]
    with services.engine.connect() as conn:
        row = store.get(conn, conn_id)
    if row is None:
        raise not_found(f"The Connection with connection_id: `{conn_id}` was not found")
    return serialize(row, services.crypt)


def post_connection(services, request):
    data = _read_body(request)
    with services.engine.begin() as conn:
        common.record(conn, request, "post_connection", body=data, masking="connection")
    with services.engine.begin() as conn:
        if store.get(conn, data["connection_id"]) is not None:
            raise HTTPError(409, f"The Connection with connection_id: `{data['connection_id']}` already exists")
        store.insert(conn, data["connection_id"], _columns(data), crypt=services.crypt)
        row = store.get(conn, data["connection_id"])
    return serialize(row, services.crypt), 201


def _apply_patch(conn, services, conn_id: str, data: dict, update_mask) -> None:
    if data.get("connection_id") != conn_id:
        raise HTTPError(400, "The connection_id in the request body does not match the URL parameter")
    row = store.get(conn, conn_id)
    if row is None:
        raise not_found(f"The Connection with connection_id: `{conn_id}` was not found")
    fields = set(data) - {"connection_id"}
    if update_mask:
        if "connection_id" in update_mask:
            raise HTTPError(400, "Update not allowed: the following fields are immutable and cannot be "
                                 "modified: {'connection_id'}")
        fields &= set(update_mask)
    values = _columns(data, fields)
    stored = store.clear(row, services.crypt)
    # A form sends back the `***` it was shown: the stored secret stays.
    if "password" in values:
        values["password"] = masker.merge(values["password"], stored["password"], "password")
    if values.get("extra") and stored["extra"]:
        try:
            values["extra"] = json.dumps(masker.merge(json.loads(values["extra"]), json.loads(stored["extra"])))
        except ValueError:
            pass
    store.update_(conn, conn_id, values, crypt=services.crypt)


def patch_connection(services, request):
    conn_id = request.path_params["connection_id"]
    q = Query(request)
    mask = q.list("update_mask") or None
    q.done()
    data = _read_body(request)
    with services.engine.begin() as conn:
        common.record(conn, request, "patch_connection", body=data, masking="connection")
    with services.engine.begin() as conn:
        _apply_patch(conn, services, conn_id, data, mask)
        row = store.get(conn, conn_id)
    return serialize(row, services.crypt)


def delete_connection(services, request):
    conn_id = request.path_params["connection_id"]
    with services.engine.begin() as conn:
        common.record(conn, request, "delete_connection", masking="connection")
    with services.engine.begin() as conn:
        if not store.remove(conn, conn_id):
            raise not_found(f"The Connection with connection_id: `{conn_id}` was not found")
    return common.no_content()


def bulk_connections(services, request):
    actions = common.read_bulk(request, check_entity)
    with services.engine.begin() as conn:
        common.record(conn, request, "bulk_connections", body=json.loads(request.state.body),
                      masking="connection")

    def existing(conn, ids):
        return set(conn.execute(select(connection.c.conn_id).where(connection.c.conn_id.in_(list(ids)))).scalars())

    def create(conn, action, results):
        ids = [e["connection_id"] for e in action["entities"]]
        found = existing(conn, ids)
        if action["mode"] == "fail" and found:
            raise common.BulkError(409, f"The connections with these connection_ids: {common.py_set(found)} "
                                        f"already exist.")
        for entity in action["entities"]:
            cid = entity["connection_id"]
            if cid in found:
                if action["mode"] == "skip":
                    continue
                store.remove(conn, cid)  # overwrite: the new body replaces every field
            store.insert(conn, cid, _columns(entity), crypt=services.crypt)
            results["success"].append(cid)

    def update(conn, action, results):
        ids = [e["connection_id"] for e in action["entities"]]
        missing = set(ids) - existing(conn, ids)
        if action["mode"] == "fail" and missing:
            raise common.BulkError(404, f"The connections with these connection_ids: {common.py_set(missing)} "
                                        f"were not found.")
        for entity in action["entities"]:
            if entity["connection_id"] not in missing:
                _apply_patch(conn, services, entity["connection_id"], entity, action["update_mask"])
                results["success"].append(entity["connection_id"])

    def delete(conn, action, results):
        ids = [e if isinstance(e, str) else e.get("connection_id") for e in action["entities"]]
        missing = set(ids) - existing(conn, ids)
        if action["mode"] == "fail" and missing:
            raise common.BulkError(404, f"The connections with these connection_ids: {common.py_set(missing)} "
                                        f"were not found.")
        for cid in ids:
            if cid not in missing:
                store.remove(conn, cid)
                results["success"].append(cid)

    return common.run_bulk(services, actions, {"create": create, "update": update, "delete": delete})


def test_connection(services, request):
    """Disabled unless `test_connection = "Enabled"`, as Airflow's default; enabled, a TCP reachability check."""
    data = _read_body(request)
    if test_connection_setting(services.settings).strip().lower() != "enabled":
        raise HTTPError(403, "Testing connections is disabled in Airflow configuration. Contact your deployment "
                             "admin to enable it.")
    host, port = data.get("host"), data.get("port")
    if not host or not port:
        return {"status": False, "message": "Leoflow tests a connection by reaching its host and port; "
                                            "give both"}
    try:
        with socket.create_connection((host, int(port)), timeout=3):
            pass
    except OSError as exc:
        return {"status": False, "message": f"Cannot reach {host}:{port}: {exc}"}
    return {"status": True, "message": "Connection successfully tested"}


def test_connection_setting(settings) -> str:
    """Airflow's `[core] test_connection`: LEOFLOW_TEST_CONNECTION, AIRFLOW__CORE__TEST_CONNECTION or the file."""
    for var in ("LEOFLOW_TEST_CONNECTION", "AIRFLOW__CORE__TEST_CONNECTION"):
        if os.environ.get(var):
            return os.environ[var]
    return str(settings.extra.get("test_connection", "Disabled"))


def create_default_connections(services, request):
    with services.engine.begin() as conn:
        common.record(conn, request, "create_default_connections")
    with services.engine.begin() as conn:
        present = set(conn.execute(select(connection.c.conn_id)).scalars())
        for conn_id, values in DEFAULT_CONNECTIONS.items():
            if conn_id not in present:  # an existing connection of that name is the user's: keep it
                store.insert(conn, conn_id, values, crypt=services.crypt)
    return common.no_content()


test_connection.__test__ = test_connection_setting.__test__ = False  # not pytest tests, despite the names

ROUTES = [
    ("/connections", ["GET"], get_connections),
    ("/connections", ["POST"], post_connection),
    ("/connections", ["PATCH"], bulk_connections),
    ("/connections/test", ["POST"], test_connection),
    ("/connections/defaults", ["POST"], create_default_connections),
    ("/connections/{connection_id}", ["GET"], get_connection),
    ("/connections/{connection_id}", ["PATCH"], patch_connection),
    ("/connections/{connection_id}", ["DELETE"], delete_connection),
]
