"""The single executable's unpack cache: one folder per build, the current and the previous kept (ADR 28).

The downloaded file unpacks its program into CACHE/<build hash> (build/selfextract.py). Every run
of an unpacked program holds a shared lock on its own executable for as long as it, or any process
forked from it, lives (`hold`). After a new build is unpacked, `prune` removes the folders of builds
older than the one before it whose lock it can take exclusively: a folder in use is never removed.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from pathlib import Path

BUILD_FOLDER = re.compile(r"[0-9a-f]{16}")
# A half-finished unpack of another launch is left alone this long (a first unpack takes seconds).
STALE_UNPACK_SECONDS = 3600

_held: list[int] = []  # the lock lives as long as this process (and its forks): never closed


def hold(executable: str) -> None:
    """Mark this build's folder as in use until this process and its forked children end."""
    try:
        import fcntl
    except ImportError:  # Windows: no self-extracting file there
        return
    try:
        fd = os.open(executable, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:  # never stop a start over the cache's bookkeeping
        return
    _held.append(fd)


def _in_use(folder: Path) -> bool:
    """True unless this process could take the folder's lock exclusively (then it keeps it: see prune)."""
    import fcntl

    try:
        fd = os.open(folder / "leoflow", os.O_RDONLY)
    except OSError:
        return False  # no program inside: a broken copy, not in use
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return True
    if _runs_from(folder):
        os.close(fd)
        return True
    _held.append(fd)  # held until the folder is renamed away: a run starting meanwhile finds it taken
    return False


def _runs_from(folder: Path) -> bool:
    """Linux: a process whose program lies in the folder (a build from before the lock existed)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return False
    prefix = str(folder.resolve()) + "/"
    for pid in os.listdir(proc):
        if pid.isdigit():
            try:
                if os.readlink(f"/proc/{pid}/exe").startswith(prefix):
                    return True
            except OSError:
                pass
    return False


def _previous_build(entries: list[Path], keep: str) -> str | None:
    """The build unpacked last before `keep` (its program's ctime is when it was unpacked; the folder's
    changes whenever something is added inside): kept, so going back one version starts at once."""
    builds = []
    for entry in entries:
        try:
            if (entry.name != keep and BUILD_FOLDER.fullmatch(entry.name) and not entry.is_symlink()
                    and (entry / "leoflow").is_file()):
                builds.append(((entry / "leoflow").stat().st_ctime, entry.name))
        except OSError:
            continue
    return max(builds)[1] if builds else None


def prune(cache: Path, keep: str) -> list[str]:
    """Remove the folders of builds other than `keep` and the one before it that no process uses;
    returns the removed names."""
    removed = []
    try:
        entries = sorted(cache.iterdir())
    except OSError:
        return removed
    now = time.time()
    previous = _previous_build(entries, keep)
    for entry in entries:
        name = entry.name
        try:
            if name in (keep, previous) or entry.is_symlink() or not entry.is_dir():
                continue  # only folders this file made; anything else in the cache is not ours
            if name.startswith(".trash-"):
                pass  # a prune that was interrupted
            elif name.startswith(".unpack-"):
                if now - entry.stat().st_mtime < STALE_UNPACK_SECONDS:
                    continue
            elif not BUILD_FOLDER.fullmatch(name) or _in_use(entry):
                continue
            trash = cache / f".trash-{name}-{os.getpid()}"
            os.rename(entry, trash)  # atomic: a new launch of that build unpacks it again
            shutil.rmtree(trash, ignore_errors=True)
            removed.append(name)
        except OSError:
            continue
    return removed


def main(argv: list[str]) -> int:
    """`leoflow _prune-cache CACHE KEEP`, run by the file's header after it unpacked a new build."""
    if len(argv) != 2 or not BUILD_FOLDER.fullmatch(argv[1]):
        print("usage: leoflow _prune-cache CACHE BUILD", file=sys.stderr)
        return 2
    prune(Path(argv[0]), argv[1])
    return 0
