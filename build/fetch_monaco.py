"""Fetch monaco-editor from the npm registry and unpack its `min/vs` build for the offline code editor.

The Airflow UI loads its code editor (Monaco) from a CDN; Leoflow serves the same
version itself so the Code tab and the XCom viewer work without internet. The
files land in the gitignored embedded/ui/monaco-editor/ (cached; a second run
does nothing) and are embedded in the single executable, never committed.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

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
    if shutil.which("npm") is None:
        raise SystemExit("fetch_monaco: npm is needed to take monaco-editor from the npm registry "
                         "(apt-get install -y npm)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", "--silent", f"monaco-editor@{VERSION}", "--pack-destination", tmp],
                       check=True, stdout=subprocess.DEVNULL)
        tgz = next(Path(tmp).glob("monaco-editor-*.tgz"))
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
        if digest != INTEGRITY:
            raise SystemExit(f"monaco-editor {VERSION}: integrity {digest} does not match {INTEGRITY}")
        with tarfile.open(tgz) as tf:
            members = [m for m in tf.getmembers()
                       if (m.name.startswith("package/min/vs/") or m.name in ("package/LICENSE",
                                                                                "package/ThirdPartyNotices.txt"))
                       and m.isfile()]
            for m in members:
                m.name = m.name.removeprefix("package/")
            tf.extractall(TARGET, members=members, filter="data")
    stamp.write_text(VERSION + "\n")
    return TARGET


if __name__ == "__main__":
    print(fetch())
