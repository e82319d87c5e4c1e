"""The DAG folder as a content-addressed bundle: what an agent needs to run a try of any DAG in it.

A bundle is an uncompressed tar of the DAG folder's regular files (DAG files, helper modules and
packages, SQL and templates beside them), without `__pycache__`, hidden entries and symbolic links,
with names sorted and times, owners and modes normalized, so the same files always make the same
bytes: its sha256 is its name. The server stores each bundle once in the database (any replica serves
it); the agent fetches a bundle by hash and keeps it extracted in its home (`bundles/<sha256>/`).
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import tarfile
import tempfile
import threading
import time
from pathlib import Path

MAX_BUNDLE_BYTES = 64 * 1024 * 1024
SHA256 = re.compile(r"^[0-9a-f]{64}$")
SIGNATURE_TTL = 1.0  # a burst of submits looks at the folder once a second


class BundleTooBig(Exception):
    pass


def _files(folder: Path) -> list[tuple[str, os.stat_result]]:
    out = []
    for root, dirs, names in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__"
                         and not os.path.islink(os.path.join(root, d)))
        for name in sorted(names):
            path = os.path.join(root, name)
            if name.startswith(".") or os.path.islink(path):
                continue
            st = os.stat(path)
            if os.path.isfile(path):
                out.append((os.path.relpath(path, folder), st))
    return out


def build(folder: Path) -> tuple[str, bytes]:
    """(sha256, tar bytes) of the folder as it is now."""
    buf = io.BytesIO()
    total = 0
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel, st in _files(Path(folder)):
            total += st.st_size
            if total > MAX_BUNDLE_BYTES:
                raise BundleTooBig(f"the DAG folder holds more than {MAX_BUNDLE_BYTES // 2**20} MiB")
            info = tarfile.TarInfo(rel.replace(os.sep, "/"))
            info.size, info.mtime, info.mode, info.uid, info.gid = st.st_size, 0, 0o644, 0, 0
            with open(os.path.join(folder, rel), "rb") as f:
                tar.addfile(info, f)
    data = buf.getvalue()
    return hashlib.sha256(data).hexdigest(), data


class Publisher:
    """The server side: the bundle of the DAG folder as it is now, stored once per content."""

    def __init__(self, engine, folder: Path):
        self.engine, self.folder = engine, Path(folder)
        self._lock = threading.Lock()
        self._signature = None
        self._checked_at = 0.0
        self._sha: str | None = None
        self._stored: set[str] = set()

    def current(self) -> str:
        from ..store import agents as store

        with self._lock:
            if self._sha is not None and time.monotonic() - self._checked_at < SIGNATURE_TTL:
                return self._sha
            signature = [(rel, st.st_size, st.st_mtime_ns) for rel, st in _files(self.folder)]
            self._checked_at = time.monotonic()
            if signature == self._signature and self._sha is not None:
                return self._sha
            sha, data = build(self.folder)
            if sha not in self._stored:
                with self.engine.begin() as conn:
                    store.put_bundle(conn, sha, data)
                self._stored.add(sha)
            self._signature, self._sha = signature, sha
            return sha


def extract(data: bytes, sha256: str, cache: Path) -> Path:
    """The bundle's folder in the agent's cache, extracted once (checked against its hash first)."""
    if not SHA256.match(sha256) or hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError("the bundle's content does not match its sha256")
    target = Path(cache) / sha256
    if target.is_dir():
        return target
    Path(cache).mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{sha256[:12]}-", dir=cache))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for member in tar.getmembers():
                if not member.isfile():
                    raise ValueError(f"bundle entry {member.name!r} is not a regular file")
            tar.extractall(staging, filter="data")  # refuses absolute paths, '..' and links out of it
        try:
            os.rename(staging, target)
        except OSError:  # another thread extracted it meanwhile
            if not target.is_dir():
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def cached(cache: Path, sha256: str) -> Path | None:
    if not SHA256.match(sha256 or ""):
        return None
    target = Path(cache) / sha256
    return target if target.is_dir() else None
