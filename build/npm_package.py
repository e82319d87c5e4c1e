"""One package from the npm registry, checked against its registry integrity and unpacked: the UI's
offline assets (fetch_monaco.py, fetch_swagger_ui.py) share this."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path


def unpack(name: str, version: str, integrity: str, target: Path, keep, *, replace: bool = False) -> None:
    """`npm pack name@version`, refused unless its sha512 is `integrity` (a tampered or truncated download
    stops the build); the files whose path inside the package (without `package/`) `keep` accepts land
    in `target`, safely (tarfile's data filter); with `replace`, what `target` held before goes first."""
    if shutil.which("npm") is None:
        raise SystemExit(f"{name}: npm is needed to take it from the npm registry (apt-get install -y npm)")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["npm", "pack", "--silent", f"{name}@{version}", "--pack-destination", tmp],
                       check=True, stdout=subprocess.DEVNULL)
        tgz = next(Path(tmp).glob(f"{name}-*.tgz"))
        digest = "sha512-" + base64.b64encode(hashlib.sha512(tgz.read_bytes()).digest()).decode()
        if digest != integrity:
            raise SystemExit(f"{name} {version}: integrity {digest} does not match {integrity}")
        if replace:
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
        with tarfile.open(tgz) as tf:
            members = [m for m in tf.getmembers() if m.isfile() and keep(m.name.removeprefix("package/"))]
            for m in members:
                m.name = m.name.removeprefix("package/")
            tf.extractall(target, members=members, filter="data")
