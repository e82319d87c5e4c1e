"""The DAG folder as a content-addressed bundle: what an agent needs to run a try of any DAG in it.

A bundle is an uncompressed tar of the DAG folder's regular files (DAG files, helper modules and
packages, SQL and templates beside them), without `__pycache__`, hidden entries and symbolic links,
with names sorted and times, owners and modes normalized, so the same files always make the same
bytes: its sha256 is its name. The server stores each bundle once in the database (any replica serves
it); the agent fetches a bundle by hash and keeps it extracted in its home (`bundles/<sha256>/`).

A DAG run records the bundle current when it was created (`dag_run.bundle_version`, the way Airflow
records a versioned bundle's version on the run), and every try of the run runs that bundle: a DAG
file changed after the run was made changes the next run, not this one. A run made by a process
that publishes no bundle (e.g. `leoflow dags trigger` on another machine) gets the bundle current
when its first try is queued. The public functions for whoever serves bundles to workers (the
agents' `/agent/v1/bundles/SHA`, a Kubernetes pod's fetch): `bundle_bytes(conn, sha)` and
`run_bundle(conn, dag_id, run_id)`.
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
    """The server side: the bundle of the DAG folder as it is now, stored once per content.

    The folder is looked at (names, sizes, modification times) at most once a second and tarred only
    when that changed; an unchanged folder costs a stat per file and nothing else."""

    def __init__(self, engine, folder: Path):
        self.engine, self.folder = engine, Path(folder)
        self._lock = threading.Lock()
        self._signature = None
        self._checked_at = 0.0
        self._sha: str | None = None
        self._data: bytes | None = None  # the current bundle's bytes until it is known to be stored
        self._stored: set[str] = set()

    def current(self, conn=None) -> str:
        """The current bundle's hash, the bundle stored in the database first: through `conn` (inside
        the caller's transaction, so it commits with what names it) or else a transaction of its own."""
        from ..store import agents as store

        with self._lock:
            if self._sha is None or time.monotonic() - self._checked_at >= SIGNATURE_TTL:
                signature = [(rel, st.st_size, st.st_mtime_ns) for rel, st in _files(self.folder)]
                self._checked_at = time.monotonic()
                if signature != self._signature or self._sha is None:
                    sha, data = build(self.folder)
                    self._signature, self._sha = signature, sha
                    self._data = None if sha in self._stored else data
            sha = self._sha
            if sha not in self._stored:
                if conn is None:
                    with self.engine.begin() as own:
                        store.put_bundle(own, sha, self._data)
                    self._stored.add(sha)
                    self._data = None
                else:  # with the caller's transaction, which may roll back: looked for again next time
                    store.put_bundle(conn, sha, self._data)
            return sha


# The publisher run creation uses in this process (the agent executor's, or the agents' API on a server
# whose executors include agents), or None: then runs record no bundle, and their first queued try does.
_for_runs: Publisher | None = None
_for_runs_lock = threading.Lock()


def publish_for_runs(engine, folder: Path) -> Publisher:
    """Make new runs in this process record the DAG folder's bundle; the publisher doing it."""
    global _for_runs
    with _for_runs_lock:
        if _for_runs is None or _for_runs.folder != Path(folder):
            _for_runs = Publisher(engine, folder)
        return _for_runs


def for_new_run(conn) -> str | None:
    """The bundle a run created now records (`dag_run.bundle_version`), or None when this process
    publishes none. A folder that cannot be published (too big, unreadable) records none either: the
    run is still made, and its tries say why they cannot run on agents."""
    publisher = _for_runs
    if publisher is None:
        return None
    try:
        return publisher.current(conn)
    except (BundleTooBig, OSError) as exc:
        import logging

        logging.getLogger(__name__).error("The DAG folder cannot be published as a bundle: %s", exc)
        return None


def run_bundle(conn, dag_id: str, run_id: str) -> str | None:
    """The hash of the bundle a run runs with (recorded at its creation or its first queued try), or None."""
    from sqlalchemy import select

    from ..store.tables import dag_run

    value = conn.execute(select(dag_run.c.bundle_version).where(dag_run.c.dag_id == dag_id,
                                                                dag_run.c.run_id == run_id)).scalar()
    return value if value and SHA256.match(value) else None


def record_run_bundle(conn, dag_id: str, run_id: str, sha: str) -> str:
    """Fix the run's bundle to `sha` unless it has one already; the run's bundle either way."""
    from sqlalchemy import update

    from ..store.tables import dag_run

    conn.execute(update(dag_run).where(dag_run.c.dag_id == dag_id, dag_run.c.run_id == run_id,
                                       dag_run.c.bundle_version.is_(None)).values(bundle_version=sha))
    return run_bundle(conn, dag_id, run_id) or sha


def bundle_bytes(conn, sha256: str) -> bytes | None:
    """The bytes of the bundle with that hash (an uncompressed tar, see `extract`), or None."""
    from ..store import agents as store

    if not SHA256.match(sha256 or ""):
        return None
    data = store.get_bundle(conn, sha256)
    return None if data is None else bytes(data)


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
