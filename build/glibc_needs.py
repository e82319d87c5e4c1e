"""The newest glibc symbol version each ELF file of a build needs (objdump -T), and the build's.

usage: python build/glibc_needs.py FOLDER [--max 2.31]   (exit 1 when a file needs more than --max)
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ELF_MAGIC = b"\x7fELF"


def _key(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split("."))


def needs(folder: Path) -> dict[str, str]:
    """{path relative to folder: newest GLIBC_x.y its dynamic symbols reference} for each ELF file."""
    out = {}
    for path in sorted(folder.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        with open(path, "rb") as f:
            if f.read(4) != ELF_MAGIC:
                continue
        symbols = subprocess.run(["objdump", "-T", str(path)], capture_output=True, text=True).stdout
        versions = set(re.findall(r"\(?GLIBC_(\d+(?:\.\d+)+)\)?", symbols))
        if versions:
            out[path.relative_to(folder).as_posix()] = max(versions, key=_key)
    return out


def main(argv: list[str]) -> int:
    folder = Path(argv[0])
    limit = argv[argv.index("--max") + 1] if "--max" in argv else None
    found = needs(folder)
    newest = max(found.values(), key=_key)
    over = {p: v for p, v in found.items() if limit and _key(v) > _key(limit)}
    for path, version in sorted(found.items(), key=lambda kv: _key(kv[1]), reverse=True)[:10]:
        print(f"GLIBC_{version}  {path}")
    print(f"{folder}: {len(found)} ELF files, the newest glibc needed is {newest}")
    if over:
        print(f"{len(over)} files need a glibc newer than {limit}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
