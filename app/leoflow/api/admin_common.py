"""What the admin families (variables, connections, pools, assets, backfills, ...) share:
body fields with limits, the audit record of an API action, and the bulk-action machinery."""

from __future__ import annotations

import json
import re

from sqlalchemy.exc import IntegrityError

from ..secrets import masker
from ..store import audit
from .errors import HTTPError, ValidationFailed, invalid
from .validate import Body, json_body


class Fields(Body):
    """`validate.Body` plus the field kinds the admin bodies need; `where` prefixes error locations."""

    def __init__(self, data, *, allowed: set[str], required: set[str] = frozenset(), where=("body",)):
        self.prefix = list(where)
        super().__init__(data, allowed=allowed, required=required)
        if not isinstance(data, dict):
            for err in self.errors:
                err["loc"] = self.prefix

    def fail(self, name, msg, input_, type_, ctx=None):
        self.errors.append(invalid([*self.prefix, name], msg, input_, type_, ctx))

    def present(self, name: str) -> bool:
        return name in self.data

    def text(self, name: str, *, required: bool = False, max_length: int | None = None,
             pattern: str | None = None):
        """A string field (None allowed unless required); limits reported as pydantic does."""
        if name not in self.data:
            return None
        value = self.data[name]
        if value is None:
            if required:
                self.fail(name, "Input should be a valid string", value, "string_type")
            return None
        if not isinstance(value, str):
            self.fail(name, "Input should be a valid string", value, "string_type")
            return None
        if max_length is not None and len(value) > max_length:
            self.fail(name, f"String should have at most {max_length} characters", value, "string_too_long",
                      {"max_length": max_length})
            return None
        if pattern is not None and not re.match(pattern, value):
            self.fail(name, f"String should match pattern '{pattern}'", value, "string_pattern_mismatch",
                      {"pattern": pattern})
            return None
        return value

    def integer(self, name: str, *, required: bool = False, ge: int | None = None):
        if name not in self.data:
            return None
        value = self.data[name]
        if value is None and not required:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            self.fail(name, "Input should be a valid integer", value, "int_type")
            return None
        try:
            number = int(value) if not isinstance(value, float) or value.is_integer() else None
        except ValueError:
            number = None
        if number is None:
            self.fail(name, "Input should be a valid integer, unable to parse string as an integer", value,
                      "int_parsing")
            return None
        if not self._int64(name, number, value):
            return None
        if ge is not None and number < ge:
            self.fail(name, f"Input should be greater than or equal to {ge}", value, "greater_than_equal",
                      {"ge": ge})
            return None
        return number

    def boolean(self, name: str):
        if name in self.data and self.data[name] is None:
            self.fail(name, "Input should be a valid boolean", None, "bool_type")
            return None
        return self.bool(name)


def body_fields(data, *, allowed: set[str], required: set[str] = frozenset(), where=("body",)) -> Fields:
    return Fields(data, allowed=allowed, required=required, where=where)


def user_name(request) -> str:
    user = getattr(request.state, "user", None)
    return getattr(user, "username", None) or "anonymous"


def record(conn, request, event: str, *, body: dict | None = None, masking: str = "plain", dag_id=None,
           run_id=None) -> None:
    """The audit event of one API action, shaped as Airflow 3.2.1's action log writes it.

    `extra` holds the query and path parameters, the (masked) JSON body and the method.
    """
    extra = {k: masker.redact(v, k) for k, v in [*request.query_params.items(), *request.path_params.items()]
             if k not in {"dag_id", "task_id", "dag_run_id", "run_id", "logical_date"}}
    if isinstance(body, dict) and isinstance(body.get("actions"), list) and masking in ("variable", "connection"):
        mask = _mask_variable if masking == "variable" else _mask_connection
        body = {"actions": [{**a, "entities": [mask(e) if isinstance(e, dict) else e for e in a.get("entities", [])]}
                            if isinstance(a, dict) and isinstance(a.get("entities"), list) else a
                            for a in body["actions"]]}
        extra.update(body)
    elif isinstance(body, dict):
        if masking == "variable":
            extra = _mask_variable(body)
        elif masking == "connection":
            extra = _mask_connection(body)
        else:
            extra.update({k: masker.redact(v, k) for k, v in body.items()})
    elif masking in ("variable", "connection"):
        extra = _mask_variable(extra) if masking == "variable" else _mask_connection(extra)
    extra["method"] = request.method
    name = user_name(request)
    audit.record(conn, event, owner=name, dag_id=dag_id, run_id=run_id, extra=json.dumps(extra))


def _mask_variable(fields: dict) -> dict:
    out = dict(fields)
    key = out.get("key")
    for name in ("val", "value"):
        if key and name in out:
            out[name] = masker.redact(out[name], key)
    return out


def _mask_connection(fields: dict) -> dict:
    out = {}
    for k, v in fields.items():
        if k == "extra" and v:
            try:
                parsed = json.loads(v)
            except (TypeError, ValueError):
                out[k] = "Encountered non-JSON in `extra` field"
                continue
            out[k] = masker.redact(parsed) if isinstance(parsed, dict) else \
                "Expected JSON object in `extra` field, got non-dict JSON"
        else:
            out[k] = masker.redact(v, k)
    return out


# --- bulk actions (PATCH /variables, /connections, /pools) ---------------------------------------

ON_EXISTENCE = ("fail", "skip", "overwrite")
ON_NON_EXISTENCE = ("fail", "skip")


class BulkError(Exception):
    """One failed action: reported in its `errors`, the other actions still run."""

    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


def read_bulk(request, entity_check) -> list[dict]:
    """The checked actions of a bulk body; `entity_check(data, where)` validates one entity object.

    Each returned action: {"action", "entities", "action_on_existence"/"action_on_non_existence", "update_mask"}.
    """
    data = json_body(request)
    top = Fields(data, allowed={"actions"}, required={"actions"})
    errors = list(top.errors)
    actions = data.get("actions") if isinstance(data, dict) else None
    out = []
    if isinstance(data, dict) and "actions" in data and not isinstance(actions, list):
        errors.append(invalid(["body", "actions"], "Input should be a valid list", actions, "list_type"))
    for i, action in enumerate(actions if isinstance(actions, list) else []):
        where = ["body", "actions", i]
        kind = action.get("action") if isinstance(action, dict) else None
        if kind not in ("create", "update", "delete"):
            errors.append(invalid(where, "Input tag '%s' found using 'action' does not match any of the expected tags: "
                                  "'create', 'update', 'delete'" % kind if kind is not None else
                                  "Unable to extract tag using discriminator 'action'", action, "union_tag_invalid"
                                  if kind is not None else "union_tag_not_found"))
            continue
        allowed = {"action", "entities"} | ({"action_on_existence"} if kind == "create" else
                                            {"action_on_non_existence"} | ({"update_mask"} if kind == "update"
                                                                             else set()))
        f = body_fields(action, allowed=allowed, required={"action", "entities"}, where=[*where, kind])
        option = "action_on_existence" if kind == "create" else "action_on_non_existence"
        choices = ON_EXISTENCE if kind == "create" else ON_NON_EXISTENCE
        mode = action.get(option, "fail")
        if mode not in choices:
            f.fail(option, "Input should be " + ", ".join(f"'{c}'" for c in choices[:-1]) + f" or '{choices[-1]}'",
                   mode, "enum", {"expected": ", ".join(f"'{c}'" for c in choices[:-1]) + f" or '{choices[-1]}'"})
        mask = action.get("update_mask")
        if mask is not None and not (isinstance(mask, list) and all(isinstance(m, str) for m in mask)):
            f.fail("update_mask", "Input should be a valid list of strings", mask, "list_type")
        entities = action.get("entities")
        if "entities" in action and not isinstance(entities, list):
            f.fail("entities", "Input should be a valid list", entities, "list_type")
            entities = []
        checked = []
        for j, entity in enumerate(entities or []):
            ewhere = [*where, kind, "entities", j]
            if kind == "delete" and isinstance(entity, str):
                checked.append(entity)
                continue
            checked.append(entity_check(entity, ewhere, f.errors))
        errors.extend(f.errors)
        out.append({"action": kind, "entities": checked, "mode": mode, "update_mask": mask})
    if errors:
        raise ValidationFailed(errors)
    return out


def run_bulk(services, actions: list[dict], handlers: dict) -> dict:
    """Run each action with `handlers[kind](conn, action, results)`, all in one transaction as Airflow does.

    A BulkError (or HTTPError) ends that action with an error, and what it did before stays, as in
    Airflow; a unique key written twice (two new entities of one name in one create) is, as in Airflow,
    a 409 for the whole request, and nothing of the request is kept.
    """
    body: dict = {}
    try:
        with services.engine.begin() as conn:
            for action in actions:
                results = body.setdefault(action["action"], {"success": [], "errors": []})
                try:
                    handlers[action["action"]](conn, action, results)
                except BulkError as exc:
                    results["errors"].append({"error": exc.detail, "status_code": exc.status})
                except HTTPError as exc:
                    results["errors"].append({"error": str(exc.detail), "status_code": exc.status})
    except IntegrityError:
        raise HTTPError(409, unique_violation("An entity appears twice in one create action, or already "
                                              "exists: nothing of this request was kept")) from None
    return body


def unique_violation(message: str) -> dict:
    """The detail of Airflow's 409 for a write that broke a unique key."""
    return {"reason": "Unique constraint violation", "statement": "hidden", "orig_error": "hidden",
            "message": message}


def py_set(names) -> str:
    """A set of names as Airflow's messages print it: {'a', 'b'}."""
    return "{" + ", ".join(repr(n) for n in sorted(names)) + "}"


def no_content():
    from starlette.responses import Response

    return Response(status_code=204)
