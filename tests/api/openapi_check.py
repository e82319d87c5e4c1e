"""Check API responses against the OpenAPI documents shipped in the apache-airflow-core wheel.

The documents are OpenAPI 3.1, whose schemas are JSON Schema 2020-12: `anyOf: [{...}, {type: null}]`
is how they mark nullable fields, so a plain 2020-12 validator with the document's `components`
beside the response schema resolves every `#/components/...` reference.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import jsonschema
import yaml

from tests.reference import airflow_core

METHODS = ("get", "put", "post", "delete", "patch")


def openapi_dir() -> Path:
    return airflow_core() / "api_fastapi" / "core_api" / "openapi"


def public_doc() -> Path:
    return openapi_dir() / "v2-rest-api-generated.yaml"


def ui_doc() -> Path:
    return openapi_dir() / "_private_ui.yaml"


@functools.lru_cache(maxsize=None)
def load(doc_path) -> dict:
    with open(doc_path) as f:
        return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def operations(doc_path) -> dict[str, tuple[str, str, dict]]:
    """operationId -> (METHOD, path template, operation object)."""
    out = {}
    for path, item in load(doc_path)["paths"].items():
        for method in METHODS:
            if method in item:
                out[item[method]["operationId"]] = (method.upper(), path, item[method])
    return out


def _template_regex(template: str) -> re.Pattern:
    parts = re.split(r"(\{[^}]+\})", template)
    pattern = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{pattern}$")


def find_operation(doc_path, key) -> tuple[str, str, dict]:
    """By operationId, or by (method, path) where path is a template or a concrete URL path."""
    ops = operations(doc_path)
    if isinstance(key, str):
        if key not in ops:
            raise KeyError(f"no operation {key!r} in {Path(doc_path).name}")
        return ops[key]
    method, path = key[0].upper(), key[1].split("?")[0]
    matches = [v for v in ops.values() if v[0] == method and (v[1] == path or _template_regex(v[1]).match(path))]
    if not matches:
        raise KeyError(f"no operation {method} {path} in {Path(doc_path).name}")
    # A literal segment beats a placeholder (`/dagRuns/list` over `/dagRuns/{dag_run_id}`).
    return min(matches, key=lambda v: v[1].count("{"))


# Statuses Airflow 3.2.1's routes really send although its generated document does not declare them.
RUNTIME_STATUSES = {
    ("DELETE", "/api/v2/dags/{dag_id}", 204): "delete_dag returns Response(204); the document says 200 {}",
}


def response_schema(doc_path, key, status: int, content_type: str = "application/json") -> dict | None:
    """The schema of that response, None when the operation declares no body for it.

    A status the operation does not declare raises: an undocumented status is a contract break.
    """
    method, path, operation = find_operation(doc_path, key)
    if (method, path, status) in RUNTIME_STATUSES:
        return None
    responses = operation.get("responses", {})
    response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX") or responses.get("default")
    if response is None:
        raise AssertionError(f"{method} {path} does not document status {status} "
                             f"(documents {sorted(responses)})")
    content = response.get("content") or {}
    media = content.get(content_type) or content.get("application/json")
    if media is None:
        return None
    return media.get("schema")


def schema_errors(doc_path, schema: dict, body) -> list[str]:
    doc = load(doc_path)
    root = {**schema, "components": doc.get("components", {})}
    validator = jsonschema.Draft202012Validator(root)
    return [f"{'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.message}"
            for e in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))]


def validate_response(doc_path, key, status: int, body, content_type: str = "application/json") -> list[str]:
    """Problems with (status, body) for that operation; an empty list means it validates.

    `key` is an operationId or a (method, path) pair. Only 2xx bodies are checked against the
    body schema; error statuses must be documented and carry Airflow's `{"detail": ...}`.
    """
    try:
        schema = response_schema(doc_path, key, status, content_type)
    except (KeyError, AssertionError) as exc:
        return [str(exc)]
    if status >= 400:
        if not isinstance(body, dict) or "detail" not in body:
            return [f"error body without 'detail': {body!r}"[:300]]
        return []
    if schema is None:
        return [] if body in (None, b"", "") else [f"status {status} declares no body, got {body!r}"[:300]]
    return schema_errors(doc_path, schema, body)
