import gzip
import re

import pytest
from leoflow.web import ui
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.responses import JSONResponse
from starlette.testclient import TestClient


@pytest.fixture
def client(ui_assets):
    async def api(request):
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/api/v2/known", api), *ui.web_routes()])
    with TestClient(app) as c:
        yield c


def _script_src(html: str) -> str:
    return re.search(r'<script type="module" crossorigin src="\./([^"]+)"', html).group(1)


def test_index_has_base_href_and_client_routes_fall_back(client):
    for path in ("/", "/dags", "/dags/example_etl/runs/manual__x/tasks/t", "/connections"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert resp.headers["content-type"].startswith("text/html")
        assert '<base href="/" />' in resp.text and "{{" not in resp.text
        assert resp.headers["cache-control"] == "no-cache"


def test_index_under_a_prefix_gets_that_base(ui_assets):
    app = Starlette(routes=[Mount("/leoflow", routes=ui.web_routes())])
    with TestClient(app) as c:
        resp = c.get("/leoflow/dags")
        assert '<base href="/leoflow/" />' in resp.text
        bundle = c.get("/leoflow/" + _script_src(resp.text)).text
        # Resolved by the browser against <base href="/leoflow/">.
        assert '`${new URL("static/monaco-editor/0.52.2/min/vs",document.baseURI).href}`' in bundle


def test_api_paths_never_get_the_shell(client):
    assert client.get("/api/v2/known").json() == {"ok": True}
    resp = client.get("/api/v2/nope")
    assert resp.status_code == 404 and resp.json() == {"error": "API route not found"}
    assert client.get("/api/v1/dags").status_code == 404
    for path in ("/ui/nope", "/auth/nope", "/execution/nope"):
        resp = client.get(path)
        assert resp.status_code == 404 and resp.json() == {"detail": "Not Found"}, path
    assert "Moved in Airflow 3" in client.get("/health").json()["error"]


def test_hashed_static_files_cached_long_others_revalidated(client):
    src = _script_src(client.get("/").text)
    resp = client.get("/" + src)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/javascript")
    assert resp.headers["cache-control"] == "public, max-age=31536000, immutable"
    again = client.get("/" + src, headers={"If-None-Match": resp.headers["etag"]})
    assert again.status_code == 304
    icon = client.get("/static/pin_32.png")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/png"
    assert icon.headers["cache-control"] == "no-cache"
    assert client.get("/static/i18n/locales/en/common.json").headers["content-type"] == "application/json"
    assert client.get("/static/..%2F..%2F..%2F..%2Fpyproject.toml").status_code == 404
    assert client.get("/static/monaco-editor/0.52.2/min/vs/..%2F..%2F..%2F..%2F..%2F..%2Fpyproject.toml").status_code == 404
    assert client.get("/static/nope.js").status_code == 404


def test_upstream_preload_path_serves_the_same_module(client):
    html = client.get("/").text
    preload = re.search(r'<link rel="modulepreload" crossorigin href="\./(assets/[^"]+)"', html).group(1)
    resp = client.get("/" + preload)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/javascript")
    assert resp.content == client.get("/static/" + preload).content


def test_monaco_served_locally_and_bundle_points_at_it(client):
    bundle = client.get("/" + _script_src(client.get("/").text)).text
    assert "cdn.jsdelivr.net" not in bundle
    # An absolute URL at run time: Monaco's web workers cannot resolve relative ones.
    assert '`${new URL("static/monaco-editor/0.52.2/min/vs",document.baseURI).href}`' in bundle
    loader = client.get("/static/monaco-editor/0.52.2/min/vs/loader.js")
    assert loader.status_code == 200 and loader.headers["cache-control"].startswith("public, max-age=31536000")
    assert client.get("/static/monaco-editor/0.52.2/min/vs/editor/editor.main.js").status_code == 200
    assert client.get("/static/monaco-editor/0.52.2/min/vs/base/worker/workerMain.js").status_code == 200


def test_big_text_files_are_gzipped_when_asked(client):
    src = "/" + _script_src(client.get("/").text)
    resp = client.get(src, headers={"Accept-Encoding": "gzip"})
    assert resp.headers["content-encoding"] == "gzip"
    raw = client.get(src, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert resp.content == raw.content  # the client decodes it back
    assert len(gzip.compress(raw.content)) < len(raw.content)


def test_without_fetched_files_a_clear_page():
    app = Starlette(routes=ui.web_routes(ui.UiFiles(None, None)))
    with TestClient(app) as c:
        resp = c.get("/dags")
        assert resp.status_code == 503 and "fetch_airflow_core.py" in resp.text
        assert c.get("/static/pin_32.png").status_code == 404


def test_head_and_plain_requests_get_the_same_file(client):
    src = "/" + _script_src(client.get("/").text)
    head = client.head(src, headers={"Accept-Encoding": "identity"})
    plain = client.get(src, headers={"Accept-Encoding": "identity"})
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == len(plain.content)
    assert "`${new URL(" in plain.text  # the rewritten bundle, also when read again from disk
