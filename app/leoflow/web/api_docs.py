"""The REST API browser: `/docs` (Swagger UI, served from this server) and `/openapi.json`.

The Airflow UI's Docs -> REST API Reference opens `<base>/docs` in a new tab, as Airflow's
API server serves it (FastAPI's Swagger UI page, whose document is `/openapi.json`).
Leoflow serves the same, offline: the swagger-ui-dist files come from npm at build time
(build/fetch_swagger_ui.py, embedded in the executable), and the document is Airflow
3.2.1's REST API document narrowed to the operations Leoflow routes, titled as Leoflow's.
Both answer without a login, as Airflow's do; the browser's "Try it out" calls carry the
UI's login cookie, or a token given with "Authorize".
"""

from __future__ import annotations

import copy
import json
import re
import sys
import threading
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from .ui import LONG_CACHE, REVALIDATE, UiFiles, base_path

SWAGGER_VERSION = "5.35.0"  # build/fetch_swagger_ui.py's VERSION
FROZEN_SWAGGER = "leoflow_ui/swagger-ui"  # inside the executable (build/leoflow.spec)
OPENAPI_FILE = "openapi-v2.json"
ASSET_PREFIX = f"docs/swagger-ui/{SWAGGER_VERSION}/"
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

MISSING = """<!doctype html><html><head><title>Leoflow REST API</title></head><body>
<h1>Leoflow REST API</h1><p>The API browser's files are not part of this installation.
Fetch them with <code>python build/fetch_swagger_ui.py</code> in the source checkout, then restart.
The REST API itself is at <a href="api/v2/monitor/health">api/v2</a>.</p></body></html>"""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Leoflow REST API - Swagger UI</title>
<link rel="icon" type="image/png" href="{assets}favicon-32x32.png">
<link rel="stylesheet" href="{assets}swagger-ui.css">
</head><body>
<div id="swagger-ui"></div>
<script src="{assets}swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: {openapi},
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  oauth2RedirectUrl: new URL({redirect}, document.baseURI).href,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
  layout: "BaseLayout",
  showExtensions: true,
  showCommonExtensions: true
}});
</script>
</body></html>
"""


def swagger_dir() -> Path | None:
    """swagger-ui-dist's files and the OpenAPI document, or None when not fetched."""
    if getattr(sys, "_MEIPASS", None):
        candidate = Path(sys._MEIPASS) / FROZEN_SWAGGER
    else:
        candidate = Path(__file__).resolve().parents[3] / "embedded" / "ui" / "swagger-ui"
        if not (candidate / OPENAPI_FILE).is_file():
            import importlib.util

            spec = importlib.util.find_spec("leoflow_ui")
            if spec and spec.origin:
                candidate = Path(spec.origin).parent.parent / FROZEN_SWAGGER
    complete = (candidate / "swagger-ui-bundle.js").is_file() and (candidate / OPENAPI_FILE).is_file()
    return candidate if complete else None


def _shape(path: str) -> str:
    """A path template without its parameter names (`/dags/{dag_id}` and `/dags/{id:path}` are one)."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def served_operations() -> set[tuple[str, str]]:
    """(method, path shape) of every REST operation Leoflow routes (api/app.py's tables)."""
    from ..api import app as api_app

    served = {("post", _shape("/auth/token"))}
    for family in [*api_app._FAMILIES, api_app.mapped]:
        for path, methods, *_rest in family.ROUTES:
            served |= {(method.lower(), _shape("/api/v2" + path)) for method in methods}
    return served


def leoflow_document(airflow_document: dict, base: str = "/") -> dict:
    """Airflow's REST API document with only the operations Leoflow serves, titled as Leoflow's."""
    from .. import AIRFLOW_COMPAT_VERSION, __version__

    served = served_operations()
    document = copy.deepcopy(airflow_document)
    paths = {}
    for path, item in document.get("paths", {}).items():
        kept = {key: value for key, value in item.items()
                if key not in _METHODS or (key, _shape(path)) in served}
        if any(key in _METHODS for key in kept):
            paths[path] = kept
    document["paths"] = paths
    document["info"] = {
        "title": "Leoflow REST API",
        "version": __version__,
        "description": (f"The REST API of Apache Airflow {AIRFLOW_COMPAT_VERSION} as Leoflow {__version__} serves "
                        "it: every operation listed here is routed. Endpoints under `/api/v2` are Airflow's stable "
                        "public API; authenticate with a token from `POST /auth/token` (or the UI's login)."),
    }
    if base != "/":  # mounted below a prefix: the operations' paths are relative to it
        document["servers"] = [{"url": base.rstrip("/")}]
    return document


class _Documents:
    def __init__(self, folder: Path):
        self.folder = folder
        self._airflow: dict | None = None
        self._by_base: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def body(self, base: str) -> bytes:
        with self._lock:
            if base not in self._by_base:
                if self._airflow is None:
                    self._airflow = json.loads((self.folder / OPENAPI_FILE).read_text())
                self._by_base[base] = json.dumps(leoflow_document(self._airflow, base)).encode()
            return self._by_base[base]


def docs_routes(folder: Path | None = None) -> list[BaseRoute]:
    """`/docs`, its assets and `/openapi.json`: registered before the UI's catch-all route."""
    folder = folder or swagger_dir()
    files = UiFiles(None, None)  # its cached, gzip-aware responder; files are resolved here
    documents = _Documents(folder) if folder else None

    async def page(request: Request) -> Response:
        if folder is None:
            return HTMLResponse(MISSING, status_code=503)
        base = base_path(request)
        html = PAGE.format(assets=base + ASSET_PREFIX, openapi=json.dumps(base + "openapi.json"),
                           redirect=json.dumps(base + ASSET_PREFIX + "oauth2-redirect.html"))
        return HTMLResponse(html, headers={"Cache-Control": REVALIDATE})

    async def openapi(request: Request) -> Response:
        if documents is None:
            return JSONResponse({"detail": "The OpenAPI document is not part of this installation "
                                           "(python build/fetch_swagger_ui.py)"}, status_code=503)
        body = await run_in_threadpool(documents.body, base_path(request))
        return Response(body, media_type="application/json", headers={"Cache-Control": REVALIDATE})

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if folder is None or "/" in name or name.startswith(".") or name == OPENAPI_FILE or "\x00" in name:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        target = folder / name
        if not target.is_file():
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return await run_in_threadpool(files.respond, request, target, LONG_CACHE)

    return [
        Route("/docs", page, methods=["GET", "HEAD"]),
        Route("/openapi.json", openapi, methods=["GET", "HEAD"]),
        Route(f"/{ASSET_PREFIX}{{name:path}}", asset, methods=["GET", "HEAD"]),
    ]
