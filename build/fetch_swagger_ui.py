"""Fetch swagger-ui-dist from the npm registry for the REST API browser at `/docs`, and the OpenAPI document.

The Airflow UI's Docs -> REST API Reference opens `<base>/docs`, which Airflow's API
server answers with Swagger UI loaded from a CDN. Leoflow serves the same browser
itself so the reference works offline (leoflow/web/api_docs.py). The files land in the
gitignored embedded/ui/swagger-ui/ (cached; a second run does nothing) and are embedded
in the single executable, never committed. Beside them: `openapi-v2.json`, Airflow 3.2.1's
REST API document (from the apache-airflow-core wheel, as YAML there) in JSON, which
Leoflow narrows to the operations it serves at `/openapi.json`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import npm_package  # noqa: E402

VERSION = "5.35.0"
# The registry's dist.integrity for that version: a tampered or truncated download stops the build.
INTEGRITY = "sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ=="
ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "embedded" / "ui" / "swagger-ui"
# What the page needs (the bundle and its styles), their licences and the favicons; no source maps.
KEEP = {"swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt",
        "favicon-16x16.png", "favicon-32x32.png", "oauth2-redirect.html", "oauth2-redirect.js"}
OPENAPI = "openapi-v2.json"


def _openapi_document(target: Path) -> None:
    sys.path.insert(0, str(ROOT / "build"))
    try:
        import fetch_airflow_core
    finally:
        sys.path.pop(0)
    import yaml  # PyYAML: a dependency of the kubernetes client Leoflow ships

    source = (fetch_airflow_core.fetch() / "airflow" / "api_fastapi" / "core_api" / "openapi"
              / "v2-rest-api-generated.yaml")
    document = yaml.safe_load(source.read_text())
    (target / OPENAPI).write_text(json.dumps(document, sort_keys=True, separators=(",", ":")) + "\n")


def fetch() -> Path:
    stamp = TARGET / f".complete-{VERSION}"
    if stamp.exists():
        return TARGET
    npm_package.unpack("swagger-ui-dist", VERSION, INTEGRITY, TARGET, lambda path: path in KEEP, replace=True)
    _openapi_document(TARGET)
    stamp.write_text(VERSION + "\n")
    return TARGET


if __name__ == "__main__":
    print(fetch())
