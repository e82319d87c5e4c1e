"""Every public `/api/v2` operation through the official client, each body checked against the OpenAPI document.

The score (`api ops: N/110 ok, schema-valid M/110`) is printed at the end of the run by the
`pytest_terminal_summary` hook in `tests/api/conftest.py`.
"""

from __future__ import annotations

import importlib
import json

import pytest

from tests.api import openapi_check
from tests.api.sweep import CHECKS, RESULTS, start, stop

# Each helper's checks live in its own module; a module not written yet is simply absent.
for _name in ("core_ops", "admin_ops", "auth_ops"):
    try:
        importlib.import_module(f"tests.api.sweep.{_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"tests.api.sweep.{_name}":
            raise


@pytest.fixture(scope="session")
def ctx(tmp_path_factory):
    context = start(tmp_path_factory.mktemp("sweep"))
    yield context
    stop(context)


def _body(response):
    raw = response.data
    if not raw:
        return None
    content_type = response.headers.get("content-type", "")
    if "json" not in content_type or "ndjson" in content_type:
        return raw.decode(errors="replace")
    return json.loads(raw)


@pytest.mark.parametrize("operation_id", sorted(CHECKS))
def test_operation(ctx, operation_id):
    RESULTS[operation_id] = {"ok": False, "schema_valid": False, "problem": "check raised"}
    response = CHECKS[operation_id](ctx)
    status = response.status
    body = _body(response)
    ok = 200 <= status < 300
    content_type = response.headers.get("content-type", "application/json").split(";")[0]
    problems = openapi_check.validate_response(openapi_check.public_doc(), operation_id, status, body,
                                               content_type) if ok else []
    RESULTS[operation_id] = {"ok": ok, "schema_valid": ok and not problems,
                             "problem": "" if ok else f"status {status}: {str(body)[:200]}"}
    assert ok, f"{operation_id}: status {status}: {str(body)[:500]}"
    assert not problems, f"{operation_id} body does not match the OpenAPI schema:\n" + "\n".join(problems[:20])


def test_every_check_names_a_real_operation():
    known = openapi_check.operations(openapi_check.public_doc())
    assert not set(CHECKS) - set(known), sorted(set(CHECKS) - set(known))
