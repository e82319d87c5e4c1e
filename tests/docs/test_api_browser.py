"""`/docs` (the REST API browser) and `/openapi.json` on a real `leoflow lite`, without a login."""

from __future__ import annotations

import sys

import httpx
import pytest

from tests.e2e.lite_process import Lite
from tests.reference import ROOT


def _fetch() -> None:
    sys.path.insert(0, str(ROOT / "build"))
    try:
        from fetch_swagger_ui import fetch
    finally:
        sys.path.pop(0)
    fetch()


@pytest.fixture(scope="module")
def lite(tmp_path_factory):
    _fetch()
    tmp = tmp_path_factory.mktemp("apidocs")
    (tmp / "home").mkdir()
    (tmp / "dags").mkdir()
    lite = Lite(tmp / "home", tmp / "dags").start()
    try:
        yield lite
    finally:
        lite.stop()


def test_docs_page_and_its_assets_answer_without_a_login(lite):
    page = httpx.get(f"{lite.base}/docs", timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle" in page.text and '"/openapi.json"' in page.text
    for name, kind in (("swagger-ui-bundle.js", "javascript"), ("swagger-ui.css", "text/css")):
        path = f"/docs/swagger-ui/5.35.0/{name}"
        assert path in page.text
        asset = httpx.get(f"{lite.base}{path}", headers={"Accept-Encoding": "gzip"}, timeout=10)
        assert asset.status_code == 200, name
        assert kind in asset.headers["content-type"]
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert len(asset.content) > 10_000
    assert "SwaggerUIBundle" in httpx.get(f"{lite.base}/docs/swagger-ui/5.35.0/swagger-ui-bundle.js").text


def test_openapi_document_lists_what_leoflow_serves(lite):
    response = httpx.get(f"{lite.base}/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Leoflow REST API"
    operations = {(method, path) for path, item in document["paths"].items() for method in item
                  if method in ("get", "post", "put", "patch", "delete")}
    assert len(operations) == 110  # Airflow 3.2.1's public REST API, every operation routed
    assert ("get", "/api/v2/dags/{dag_id}") in operations
    assert "OAuth2PasswordBearer" in document["components"]["securitySchemes"]
    # What the document says is there is there: a listed GET answers (here with the login it needs).
    assert httpx.get(f"{lite.base}/api/v2/dags", timeout=10).status_code == 401
    assert lite.api("GET", "/api/v2/dags").status_code == 200


def test_unknown_and_private_asset_paths_are_404(lite):
    for path in ("/docs/swagger-ui/5.35.0/nope.js", "/docs/swagger-ui/5.35.0/openapi-v2.json",
                 "/docs/swagger-ui/5.35.0/.complete-5.35.0", "/docs/swagger-ui/5.35.0/%2e%2e/%2e%2e/openapi.json",
                 "/docs/swagger-ui/5.35.0/sub/swagger-ui.css"):
        response = httpx.get(f"{lite.base}{path}", timeout=10)
        assert response.status_code == 404, path


def test_document_keeps_only_routed_operations():
    from leoflow.web.api_docs import leoflow_document

    airflow = {"openapi": "3.1.0", "info": {"title": "Airflow API", "version": "2"}, "paths": {
        "/api/v2/dags/{dag_id}": {"get": {"operationId": "get_dag"}, "parameters": []},
        "/api/v2/not-in-leoflow": {"get": {"operationId": "nothing"}},
        "/api/v2/variables": {"get": {"operationId": "list"}, "trace": {"operationId": "never"}},
    }}
    document = leoflow_document(airflow)
    assert set(document["paths"]) == {"/api/v2/dags/{dag_id}", "/api/v2/variables"}
    assert document["paths"]["/api/v2/dags/{dag_id}"]["parameters"] == []
    assert document["info"]["title"] == "Leoflow REST API" and "servers" not in document
    assert leoflow_document(airflow, "/leoflow/")["servers"] == [{"url": "/leoflow"}]
    assert airflow["info"]["title"] == "Airflow API"  # the source document is not changed


def test_missing_files_say_how_to_fetch_them(monkeypatch):
    from starlette.applications import Starlette
    from starlette.testclient import TestClient

    from leoflow.web import api_docs

    monkeypatch.setattr(api_docs, "swagger_dir", lambda: None)
    client = TestClient(Starlette(routes=api_docs.docs_routes()))
    page = client.get("/docs")
    assert page.status_code == 503 and "build/fetch_swagger_ui.py" in page.text
    document = client.get("/openapi.json")
    assert document.status_code == 503 and "build/fetch_swagger_ui.py" in document.json()["detail"]
    assert client.get("/docs/swagger-ui/5.35.0/swagger-ui.css").status_code == 404
