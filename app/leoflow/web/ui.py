"""Serve the Airflow 3.2.1 UI build unmodified, plus what it needs to work offline.

- `index.html` for `/` and every client-side route, with the base href filled in;
- `/static/...`: the build's files; hashed ones cached for a year, the rest revalidated;
- `/assets/...`: the same files again, because the upstream `index.html` preloads
  `./assets/chunk-*.js` (served as HTML it would log a MIME-type error on every load);
- `/static/monaco-editor/<version>/min/vs/...`: the code editor, which the build
  would fetch from a CDN; the bundle's CDN base is pointed here when it is served.

Paths under `/api`, `/ui`, `/auth` and `/execution` never fall back to the shell:
an unknown API path is a JSON 404, not an HTML page with status 200.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import mimetypes
import re
import threading
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from . import assets

LONG_CACHE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# Vite names its build outputs `name-<8 char hash>.ext`: their content never changes under that name.
_HASHED = re.compile(r"-[A-Za-z0-9_-]{8}\.[a-z0-9]+$")
_COMPRESSIBLE = {"text/javascript", "application/javascript", "text/css", "application/json", "text/html",
                 "image/svg+xml", "application/wasm", "text/plain"}
MONACO_PREFIX = f"monaco-editor/{assets.MONACO_VERSION}/min/vs/"
API_PREFIXES = ("api", "ui", "auth", "execution")

_TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm",
          ".json": "application/json", ".css": "text/css", ".svg": "image/svg+xml", ".map": "application/json"}

MISSING_UI = """<!doctype html><html><head><title>Leoflow</title></head><body>
<h1>Leoflow</h1><p>The web UI files are not part of this installation.
Fetch them with <code>python build/fetch_airflow_core.py</code> and
<code>python build/fetch_monaco.py</code> in the source checkout, then restart.
The REST API is at <a href="api/v2/monitor/health">api/v2</a>.</p></body></html>"""


class _File:
    """One served file: its ETag, size and, for text worth compressing, its gzip form (kept in memory).

    The plain bytes are not kept: browsers take the gzip form, and the rare other
    client gets the file read again from disk (rewritten again when it is the bundle).
    """

    __slots__ = ("path", "base", "etag", "size", "media_type", "gz")

    def __init__(self, path: Path, base: str, media_type: str):
        self.path, self.base, self.media_type = path, base, media_type
        body = self.body()
        self.etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        self.size = len(body)
        compress = self.size > 1024 and media_type in _COMPRESSIBLE
        self.gz = gzip.compress(body, compresslevel=6, mtime=0) if compress else None

    def body(self) -> bytes:
        body = self.path.read_bytes()
        if self.path.suffix == ".js" and assets.MONACO_CDN.encode() in body:
            body = point_monaco_here(body, self.base)
        return body


class UiFiles:
    def __init__(self, dist: Path | None, monaco: Path | None):
        self.dist, self.monaco = dist, monaco
        self._cache: dict[tuple[str, str], _File] = {}
        self._lock = threading.Lock()

    def resolve(self, path: str) -> Path | None:
        """A file under `/static/`: the UI build, or Monaco's versioned folder."""
        if path.startswith(MONACO_PREFIX):
            root, rel = self.monaco, path[len(MONACO_PREFIX):]
        else:
            root, rel = self.dist, path
        if root is None or not rel or "\x00" in rel:  # a NUL names no file (and makes the OS call raise)
            return None
        target = (root / rel).resolve()
        if not target.is_relative_to(root.resolve()) or not target.is_file():
            return None
        return target

    def load(self, target: Path, base: str) -> _File:
        key = (str(target), base)
        with self._lock:
            found = self._cache.get(key)
        if found is None:
            media_type = (_TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0]
                          or "application/octet-stream")
            found = _File(target, base, media_type)
            with self._lock:
                self._cache[key] = found
        return found

    def respond(self, request: Request, target: Path, cache_control: str) -> Response:
        """Blocking (reads and compresses files): call it in a worker thread."""
        f = self.load(target, base_path(request))
        headers = {"Cache-Control": cache_control, "ETag": f.etag, "Vary": "Accept-Encoding"}
        if request.headers.get("if-none-match") == f.etag:
            return Response(status_code=304, headers=headers)
        if f.gz is not None and "gzip" in request.headers.get("accept-encoding", ""):
            body = f.gz
            headers["Content-Encoding"] = "gzip"
        elif request.method == "HEAD":
            body = b""
            headers["Content-Length"] = str(f.size)
        else:
            body = f.body()
        if request.method == "HEAD":
            headers.setdefault("Content-Length", str(len(body)))
            return Response(status_code=200, headers=headers, media_type=f.media_type)
        return Response(body, headers=headers, media_type=f.media_type)


def point_monaco_here(bundle: bytes, base: str) -> bytes:
    """Make the bundle load the editor from this server instead of the CDN: the UI works offline.

    Monaco's web workers fetch its scripts by the configured path, and a worker cannot
    resolve a relative URL, so the path must be absolute: in the bundle's template
    literal it becomes an expression the browser evaluates against the page's base.
    """
    local = f"static/{MONACO_PREFIX}".rstrip("/")
    quoted = f"`{assets.MONACO_CDN}`".encode()
    if quoted in bundle:
        return bundle.replace(quoted, ("`${new URL(" + json.dumps(local) + ",document.baseURI).href}`").encode())
    return bundle.replace(assets.MONACO_CDN.encode(), f"{base}{local}".encode())


def base_path(request: Request) -> str:
    """The URL path the UI lives under ("/" unless mounted below a prefix), ending in a slash."""
    return (request.scope.get("root_path") or "").rstrip("/") + "/"


def _cache_control(path: str) -> str:
    if path.startswith(MONACO_PREFIX) or _HASHED.search(path):
        return LONG_CACHE
    return REVALIDATE


def web_routes(files: UiFiles | None = None) -> list[BaseRoute]:
    """The UI's routes; mount them after every API route (the last one catches all paths)."""
    files = files or UiFiles(assets.ui_dist(), assets.monaco_vs())
    shell_cache: dict[str, str] = {}

    def not_found() -> Response:
        return JSONResponse({"detail": "Not Found"}, status_code=404)

    async def serve(request: Request, path: str) -> Response:
        target = files.resolve(path)
        if target is None:
            return not_found()
        # Reading and compressing a file must not hold up the event loop (and the API) meanwhile.
        return await run_in_threadpool(files.respond, request, target, _cache_control(path))

    async def static(request: Request) -> Response:
        return await serve(request, request.path_params["path"])

    async def preload_assets(request: Request) -> Response:
        return await serve(request, "assets/" + request.path_params["path"])

    async def shell(request: Request) -> Response:
        path = request.path_params.get("path", "")
        first = path.split("/", 1)[0]
        if first == "api":
            if path.startswith("api/v1/") or path == "api/v1":
                return JSONResponse({"error": "/api/v1 has been removed in Airflow 3, please use its upgraded "
                                              "version /api/v2 instead."}, status_code=404)
            return JSONResponse({"error": "API route not found"}, status_code=404)
        if path == "health":  # Airflow 2's health check: a clear 404 rather than the HTML shell
            return JSONResponse({"error": "Moved in Airflow 3. Please change config to check "
                                          "`/api/v2/monitor/health`"}, status_code=404)
        if first in API_PREFIXES:
            return not_found()
        if files.dist is None:
            return HTMLResponse(MISSING_UI, status_code=503)
        base = base_path(request)
        html = shell_cache.get(base)
        if html is None:
            template = (files.dist / "index.html").read_text()
            html = shell_cache[base] = template.replace("{{ backend_server_base_url }}", base)
        return HTMLResponse(html, headers={"Cache-Control": REVALIDATE})

    return [
        Route("/static/{path:path}", static, methods=["GET", "HEAD"]),
        Route("/assets/{path:path}", preload_assets, methods=["GET", "HEAD"]),
        Route("/{path:path}", shell, methods=["GET", "HEAD"]),
    ]
