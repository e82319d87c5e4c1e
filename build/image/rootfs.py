"""Assemble the container image's root file system from the onedir build (make image).

The image is FROM scratch plus exactly what the executable needs: the onedir build unpacked in
/opt/leoflow (no start pays an unpack), the shared libraries it and bash load, taken from the machine
that built it (so glibc matches the one it was built against), bash and a static busybox for the
BashOperator's commands, CA certificates, the time zone database and a non-root user. Why this base
and not a Debian rootfs: docs/adr/0025-container-image-and-helm-chart.md.

Every file's mtime is set to SOURCE_DATE_EPOCH and every list is sorted, so two builds from the same
onedir on the same machine give the same tree (and, with `podman build --timestamp`, the same image).

    python build/image/rootfs.py dist/leoflow-onedir build/work/image
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

UID, GID = 50000, 0  # as Airflow's image: a fixed non-root uid in group 0 (any uid works with group 0)
HOME = "/var/lib/leoflow"
APP = "/opt/leoflow"
BASH = "/bin/bash"
BUSYBOX = "/bin/busybox"  # Debian's busybox-static: cat, sleep, date, grep, sed, ... for shell commands
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
ZONEINFO = "/usr/share/zoneinfo"
# ldd prints "libx.so => /path (0x...)" and, for the loader, "/lib64/ld-linux-x86-64.so.2 (0x...)".
LDD_LINE = re.compile(r"^\s*(?:\S+\s+=>\s+)?(/\S+)\s+\(0x[0-9a-f]+\)")


def is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def shared_libraries(binaries: list[Path], bundled: Path | None) -> list[str]:
    """Every library the binaries load that the onedir build (`bundled`, when given) does not carry."""
    env = dict(os.environ)
    env.pop("LD_LIBRARY_PATH", None)
    if bundled is not None:  # the onedir's libraries are found beside them at run time: the same for ldd
        lib_dirs = sorted({str(p.parent) for p in bundled.rglob("*.so*") if p.is_file()})
        env["LD_LIBRARY_PATH"] = ":".join([str(bundled), *lib_dirs])
    found: set[str] = set()
    for binary in binaries:
        out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, env=env).stdout
        if "not a dynamic executable" in out or "statically linked" in out:
            continue
        for line in out.splitlines():
            if "not found" in line:
                raise SystemExit(f"rootfs: {binary} needs a library this machine lacks: {line.strip()}")
            m = LDD_LINE.match(line)
            if m and not (bundled is not None and _inside(m.group(1), bundled)):
                found.add(m.group(1))
    return sorted(found)


def _inside(path: str, folder: Path) -> bool:
    return os.path.realpath(path).startswith(str(folder.resolve()) + "/")


def copy_from_host(path: str, root: Path) -> None:
    """Copy a host file to the same path in root, recreating each symlink on the way (/lib -> usr/lib)."""
    parts = Path(path).parts[1:]
    host, inside = Path("/"), root
    for i, part in enumerate(parts):
        host, inside = host / part, inside / part
        if host.is_symlink():
            target = os.readlink(host)
            if not inside.is_symlink():
                inside.parent.mkdir(parents=True, exist_ok=True)
                os.symlink(target, inside)
            rest = "/".join(parts[i + 1:])
            resolved = (host.parent / target) if not target.startswith("/") else Path(target)
            copy_from_host(os.path.normpath(str(resolved / rest) if rest else str(resolved)), root)
            return
    inside.parent.mkdir(parents=True, exist_ok=True)
    if host.is_dir():
        shutil.copytree(host, inside, symlinks=True, dirs_exist_ok=True)
    else:
        shutil.copy2(host, inside)


def write(root: Path, path: str, text: str, mode: int = 0o644) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    target.chmod(mode)


def build(onedir: Path, out: Path, epoch: int) -> Path:
    root = out / "rootfs"
    if out.exists():
        shutil.rmtree(out)
    root.mkdir(parents=True)
    shutil.copytree(onedir, root / APP.lstrip("/"), symlinks=True)
    (root / "usr/local/bin").mkdir(parents=True)
    os.symlink(f"{APP}/leoflow", root / "usr/local/bin/leoflow")

    for tool in (BASH, BUSYBOX):
        if not Path(tool).exists():
            raise SystemExit(f"rootfs: {tool} is missing (apt-get install bash busybox-static)")
    # The bundled libraries find each other inside the onedir; its bootloader and bash load from the system.
    bundled = sorted(p for p in onedir.rglob("*.so*") if is_elf(p))
    libraries = (shared_libraries(bundled, onedir / "_internal")
                 + shared_libraries([onedir / "leoflow", Path(BASH)], None))
    for lib in sorted(set(libraries)):
        copy_from_host(lib, root)
    for path in (BASH, BUSYBOX, CA_BUNDLE):
        copy_from_host(path, root)
    for entry in sorted(Path(ZONEINFO).iterdir()):  # "right/" and "posix/" are copies nobody asks for
        if entry.name not in ("right", "posix"):
            copy_from_host(str(entry), root)

    # Busybox's commands as links, never over a real program (bash stays bash; /bin/sh is bash).
    usr_bin = root / "usr/bin"
    os.symlink("bash", usr_bin / "sh")
    applets = subprocess.run([BUSYBOX, "--list"], capture_output=True, text=True, check=True).stdout.split()
    for applet in sorted(set(applets)):
        if not (usr_bin / applet).exists() and not (usr_bin / applet).is_symlink():
            os.symlink("busybox", usr_bin / applet)

    write(root, "/etc/passwd", f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
                               f"leoflow:x:{UID}:{GID}:Leoflow:{HOME}:/bin/bash\n"
                               "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    write(root, "/etc/group", "root:x:0:\nnogroup:x:65534:\n")
    write(root, "/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files dns\n")
    write(root, "/etc/os-release", 'NAME="Leoflow"\nID=leoflow\nPRETTY_NAME="Leoflow (FROM scratch)"\n')
    (root / "tmp").mkdir(mode=0o1777)
    (root / "tmp").chmod(0o1777)  # mkdir's mode is masked by the umask
    (root / "root").mkdir(mode=0o700)
    # Owned by the non-root user in the Containerfile (COPY makes every file root's).
    (root / HOME.lstrip("/")).mkdir(parents=True)
    (root / HOME.lstrip("/")).chmod(0o775)

    for dirpath, dirnames, filenames in os.walk(out):
        for name in dirnames + filenames:
            os.utime(os.path.join(dirpath, name), (epoch, epoch), follow_symlinks=False)
    return root


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    onedir, out = Path(argv[0]), Path(argv[1])
    if not (onedir / "leoflow").is_file():
        raise SystemExit(f"rootfs: {onedir}/leoflow is missing: run `make binary` first")
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    root = build(onedir, out, epoch)
    size = sum(p.lstat().st_size for p in root.rglob("*") if not p.is_dir() or p.is_symlink())
    print(f"rootfs: {root} ({size / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
