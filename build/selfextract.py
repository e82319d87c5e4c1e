"""Wrap the onedir build into the single `leoflow` file users download.

The file is a short POSIX shell header followed by a gzip'd tar of the folder.
The first launch of a build unpacks it into the user's cache folder under the
build's hash (atomically: into a temporary folder, then renamed); every later
launch only `exec`s the unpacked program, so `leoflow version` costs a shell
and the program itself, not an unpack of the whole runtime (as PyInstaller's
onefile mode does on every launch).

usage: python build/selfextract.py dist/leoflow-onedir dist/leoflow
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import sys
import tarfile
from pathlib import Path

HEADER = """#!/bin/sh
# Leoflow {version}: one file. The first run of this build unpacks the program into
# $LEOFLOW_CACHE_DIR (default: the user's cache folder)/{hash}, and removes the other builds'
# copies there that no process uses; later runs start it from there.
c="${{LEOFLOW_CACHE_DIR:-${{XDG_CACHE_HOME:-$HOME/.cache}}/leoflow}}"
d="$c/{hash}"
if [ ! -x "$d/leoflow" ]; then
  if ! mkdir -p "$c" 2>/dev/null || ! t=$(mktemp -d "$c/.unpack-XXXXXX" 2>/dev/null); then
    echo "leoflow: cannot write the unpack cache $c: set LEOFLOW_CACHE_DIR to a writable folder" >&2; exit 1
  fi
  if ! tail -c +{skip:010d} "$0" | tar -xzf - -C "$t"; then
    rm -rf "$t"; echo "leoflow: could not unpack into $c: set LEOFLOW_CACHE_DIR to another folder" >&2; exit 1
  fi
  mv "$t" "$d" 2>/dev/null
  rm -rf "$t" "$d/${{t##*/}}"  # another launch unpacked the same build first: keep its copy
  "$d/leoflow" _prune-cache "$c" {hash} >/dev/null 2>&1
  if [ $? -eq 126 ]; then
    echo "leoflow: cannot run programs from $c (mounted noexec?): set LEOFLOW_CACHE_DIR to a folder that can" >&2
    exit 1
  fi
fi
exec "$d/leoflow" "$@"
"""

def deterministic_tar_gz(folder: Path, out, root: str = "", mtime: int = 0) -> None:
    """Write `folder` as a gzip'd tar into the binary file `out`, the same bytes for the same files.

    Members sorted by path; owner root, no user names, every mtime `mtime`; modes 0755 for
    directories and executables, 0644 for the rest (the build machine's umask must not show);
    no name or time in the gzip header.
    """
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=6, mtime=mtime) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in sorted(folder.rglob("*"), key=lambda p: p.relative_to(folder).as_posix()):
                name = path.relative_to(folder).as_posix()
                info = tar.gettarinfo(str(path), arcname=f"{root}/{name}" if root else name)
                info.mtime, info.uid, info.gid, info.uname, info.gname = mtime, 0, 0, "", ""
                if not info.issym():
                    info.mode = 0o755 if info.isdir() or info.mode & 0o111 else 0o644
                if info.isfile():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)


def payload(folder: Path) -> bytes:
    buf = io.BytesIO()
    deterministic_tar_gz(folder, buf)  # same input, same hash
    return buf.getvalue()


def build(folder: Path, out: Path, version: str) -> str:
    data = payload(folder)
    digest = hashlib.sha256(data).hexdigest()[:16]
    header = HEADER.format(version=version, hash=digest, skip=0)
    # The header's own length decides where the archive starts; the field is fixed-width.
    header = HEADER.format(version=version, hash=digest, skip=len(header.encode()) + 1)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(header.encode())
        f.write(data)
    os.chmod(tmp, 0o755)
    os.replace(tmp, out)
    return digest


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))
    from leoflow import __version__

    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    print(f"{dst}: build {build(src, dst, __version__)}, {dst.stat().st_size / 1e6:.0f} MB")
