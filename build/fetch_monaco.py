"""Fetch monaco-editor from the npm registry and unpack its `min/vs` build for the offline code editor.

The Airflow UI loads its code editor (Monaco) from a CDN; Leoflow serves the same
version itself so the Code tab and the XCom viewer work without internet. The
files land in the gitignored embedded/ui/monaco-editor/ (cached; a second run
does nothing) and are embedded in the single executable, never committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import npm_package  # noqa: E402

VERSION = "0.52.2"  # the version the Airflow 3.2.1 UI build asks its CDN for
# The registry's dist.integrity for that version: a tampered or truncated download stops the build.
INTEGRITY = "sha512-GEQWEZmfkOGLdd3XK8ryrfWz3AIP8YymVXiPHEdewrUq7mh0qrKrfHLNCXcbB6sTnMLnOZ3ztSiKcciFUkIJwQ=="
ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "embedded" / "ui" / "monaco-editor"


def fetch() -> Path:
    stamp = TARGET / f".complete-{VERSION}"
    if stamp.exists():
        return TARGET
    print(f"==> Fetching the Monaco editor {VERSION} (from the npm registry, once)", file=sys.stderr, flush=True)
    npm_package.unpack("monaco-editor", VERSION, INTEGRITY, TARGET,
                       lambda path: path.startswith("min/vs/") or path in ("LICENSE", "ThirdPartyNotices.txt"))
    stamp.write_text(VERSION + "\n")
    return TARGET


if __name__ == "__main__":
    print(fetch())
