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

import hashlib
import io
import os
import sys
import tarfile
from pathlib import Path

HEADER = """#!/bin/sh
# Leoflow {version}: one file. The first run of this build unpacks the program into
# $LEOFLOW_CACHE_DIR (default: the user's cache folder)/{hash}; later runs start it from there.
d="${{LEOFLOW_CACHE_DIR:-${{XDG_CACHE_HOME:-$HOME/.cache}}/leoflow}}/{hash}"
if [ ! -x "$d/leoflow" ]; then
  mkdir -p "${{d%/*}}" || exit 1
  t=$(mktemp -d "${{d%/*}}/.unpack-XXXXXX") || exit 1
  if ! tail -c +{skip:010d} "$0" | tar -xzf - -C "$t"; then
    rm -rf "$t"; echo "leoflow: could not unpack into ${{d%/*}} (set LEOFLOW_CACHE_DIR)" >&2; exit 1
  fi
  mv "$t" "$d" 2>/dev/null
  rm -rf "$t" "$d/${{t##*/}}"  # another launch unpacked the same build first: keep its copy
fi
exec "$d/leoflow" "$@"
"""


def payload(folder: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=6) as tar:
        for path in sorted(folder.rglob("*")):
            info = tar.gettarinfo(str(path), arcname=str(path.relative_to(folder)))
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""  # same input, same hash
            if info.isfile():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
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
