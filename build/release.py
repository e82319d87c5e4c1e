"""`make release`: this machine's release assets, in dist/release (ADR 28).

    python build/release.py environment-sbom   # before freezing: the build environment's SBOM
    make binary                                # freeze (reproducible)
    python build/release.py pack               # self-test, SBOM of what was frozen, assets, checksums

Assets, for VERSION and this machine's OS-ARCH:
    leoflow-VERSION-OS-ARCH                  the single executable (build/selfextract.py)
    leoflow-VERSION-OS-ARCH-onedir.tar.gz    the folder build, for containers
    leoflow-VERSION-OS-ARCH.cdx.json         CycloneDX SBOM of exactly what is frozen inside
    leoflow-VERSION-py3-none-any.whl, leoflow-VERSION.tar.gz   the wheel and sdist, UI inside
    checksums.txt                            sha256 of each, in `sha256sum` format
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
ONEDIR = DIST / "leoflow-onedir"
MANIFEST = DIST / "leoflow-onedir.frozen.json"  # written by build/leoflow.spec
WORK = ROOT / "build" / "work" / "release"
ENV_SBOM = WORK / "environment.cdx.json"
OUT = DIST / "release"
# cyclonedx-bom's own venv (Makefile: RELEASE_TOOLS), outside the build environment it describes.
RELEASE_TOOLS = ROOT / "build/work/release-tools"
SBOM_PYTHON = RELEASE_TOOLS / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
sys.path.insert(0, str(ROOT / "build"))
import fetch_airflow_core  # noqa: E402
import fetch_monaco  # noqa: E402
import fetch_swagger_ui  # noqa: E402
from selfextract import deterministic_tar_gz  # noqa: E402


def version() -> str:
    sys.path.insert(0, str(ROOT / "app"))
    from leoflow import __version__

    return __version__


def target() -> str:
    """OS-ARCH as the assets name it: linux-x86_64, linux-aarch64, macos-arm64, macos-x86_64, windows-x86_64."""
    system = {"darwin": "macos", "win32": "windows"}.get(sys.platform, sys.platform)
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "x64": "x86_64", "arm64": "arm64" if system == "macos" else "aarch64"}.get(
        machine, machine)
    return f"{system}-{machine}"


def source_date_epoch() -> int:
    if os.environ.get("SOURCE_DATE_EPOCH"):
        return int(os.environ["SOURCE_DATE_EPOCH"])
    out = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=ROOT, capture_output=True, text=True)
    return int(out.stdout.strip() or 0)


# -- before freezing ---------------------------------------------------------------------------------

def environment_sbom() -> None:
    """The build environment as cyclonedx-bom sees it; `pack` keeps the part that was frozen."""
    WORK.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(source_date_epoch())}
    subprocess.run([str(SBOM_PYTHON), "-m", "cyclonedx_py", "environment", "--output-reproducible",
                    "--pyproject", str(ROOT / "pyproject.toml"), "--of", "JSON", "-o", str(ENV_SBOM),
                    sys.executable], check=True, env=env)
    print(f"{ENV_SBOM.relative_to(ROOT)}: {len(json.loads(ENV_SBOM.read_text())['components'])} "
          "distributions in the build environment")


# -- after freezing ----------------------------------------------------------------------------------

def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def frozen_sources() -> list[tuple[str, Path, str]]:
    """(path inside the onedir, the file it was made from, PyInstaller's kind) for everything frozen."""
    manifest = json.loads(MANIFEST.read_text())
    modules = {name: src for name, src, _kind in manifest["modules"]}
    out = []
    for dest, src, kind in manifest["collected"]:
        if kind in ("DEPENDENCY", "SYMLINK"):
            continue
        path = Path(src)
        if "localpycs" in path.parts:
            # a module compiled in the work folder: its source is in the Analysis
            module = dest.removesuffix(".pyc").replace("/", ".").removesuffix(".__init__")
            if modules.get(module, "-") == "-":
                raise SystemExit(f"{dest}: no source for module {module} in {MANIFEST}")
            path = Path(modules[module])
        elif dest == "base_library.zip":  # the standard library modules Python needs to start
            path = Path(sys.base_prefix) / "lib"
        out.append((dest, path, kind))
    for name, src, kind in manifest["modules"]:
        if kind == "PYSOURCE":  # the entry point and runtime hooks, inside the executable itself
            out.append((f"leoflow:{name}", Path(src), kind))
    return out


def _owners_by_file() -> dict[Path, tuple[str, str]]:
    """Every file of every installed distribution -> (name, version)."""
    import importlib.metadata as md

    owners = {}
    for dist in md.distributions():
        for f in dist.files or []:
            owners[Path(dist.locate_file(f)).resolve()] = (dist.metadata["Name"], dist.version)
    return owners


def _debian_package(path: Path) -> tuple[str, str, str] | None:
    """(package, version, architecture) of a file Debian's dpkg installed, else None."""
    resolved = str(path.resolve())
    candidates = [str(path), resolved]
    if resolved.startswith("/usr/lib/"):  # merged /usr: dpkg may know it as /lib/...
        candidates.append(resolved.removeprefix("/usr"))
    for candidate in candidates:
        found = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True)
        if found.returncode == 0:
            package = found.stdout.splitlines()[0].split(": ", 1)[0].split(",")[0].strip()
            fields = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version} ${Architecture}", package],
                                    capture_output=True, text=True).stdout.split()
            if len(fields) == 3:
                return fields[0], fields[1], fields[2]
    return None


def _os_release() -> str:
    try:
        fields = dict(line.split("=", 1) for line in Path("/etc/os-release").read_text().splitlines() if "=" in line)
        return f"{fields.get('ID', '').strip(chr(34))}-{fields.get('VERSION_ID', '').strip(chr(34))}"
    except OSError:
        return ""


def classify(frozen: list[tuple[str, Path, str]]) -> tuple[dict, dict, list[str]]:
    """Frozen files -> Python distributions {name: (version, files)}, other components {key: dict}, unknown."""
    owners = _owners_by_file()
    app, dags = (ROOT / "app").resolve(), (ROOT / "dags").resolve()
    work = (ROOT / "build/work").resolve()  # build/leoflow.spec stages copies of app/ and dags/ in WORK/*/staged
    ui, monaco = fetch_airflow_core.TARGET.resolve(), fetch_monaco.TARGET.resolve()
    swagger = fetch_swagger_ui.TARGET.resolve()
    base = Path(sys.base_prefix).resolve()
    dists: dict[str, list] = {}
    others: dict[str, dict] = {}
    unknown = []
    debian_cache: dict[Path, tuple | None] = {}

    def other(key: str, component: dict, dest: str) -> None:
        others.setdefault(key, {**component, "files": []})["files"].append(dest)

    for dest, src, kind in frozen:
        resolved = src.resolve() if src.is_absolute() else src
        if resolved in owners:
            name, ver = owners[resolved]
            dists.setdefault(name, [ver, []])[1].append(dest)
        elif (resolved.is_relative_to(app) or resolved.is_relative_to(dags) or resolved == ROOT / "build/entry.py"
              or (resolved.is_relative_to(work) and "staged" in resolved.relative_to(work).parts)):
            continue  # Leoflow itself: the SBOM's main component
        elif kind == "EXECUTABLE":  # PyInstaller's bootloader, with the entry point inside
            pyi = next(v for v in owners.values() if _canonical(v[0]) == "pyinstaller")
            dists.setdefault(pyi[0], [pyi[1], []])[1].append(dest)
        elif resolved.is_relative_to(ui) or resolved == swagger / fetch_swagger_ui.OPENAPI:
            other("airflow-ui", {"type": "library", "name": "apache-airflow-core", "version": fetch_airflow_core.VERSION,
                                 "purl": f"pkg:pypi/apache-airflow-core@{fetch_airflow_core.VERSION}",
                                 "description": "the Airflow UI build (airflow/ui/dist) and the REST API's OpenAPI "
                                                "document only"}, dest)
        elif resolved.is_relative_to(swagger):
            other("swagger-ui", {"type": "library", "name": "swagger-ui-dist", "version": fetch_swagger_ui.VERSION,
                                 "purl": f"pkg:npm/swagger-ui-dist@{fetch_swagger_ui.VERSION}"}, dest)
        elif resolved.is_relative_to(monaco):
            other("monaco", {"type": "library", "name": "monaco-editor", "version": fetch_monaco.VERSION,
                             "purl": f"pkg:npm/monaco-editor@{fetch_monaco.VERSION}"}, dest)
        elif resolved.is_relative_to(base):
            py = platform.python_version()
            other("python", {"type": "application", "name": "cpython", "version": py,
                             "purl": f"pkg:generic/cpython@{py}",
                             "description": f"the embedded Python interpreter and standard library ({sys.base_prefix})"},
                  dest)
        else:
            if resolved not in debian_cache:
                debian_cache[resolved] = _debian_package(resolved) if sys.platform == "linux" else None
            deb = debian_cache[resolved]
            if deb:
                name, ver, arch = deb
                distro = _os_release()
                other(f"deb:{name}", {"type": "library", "name": name, "version": ver,
                                      "purl": f"pkg:deb/debian/{name}@{ver}?arch={arch}&distro={distro}"}, dest)
            else:
                unknown.append(f"{dest} <- {src}")
    return {n: tuple(v) for n, v in dists.items()}, others, unknown


def frozen_sbom(epoch: int) -> dict:
    """The environment's SBOM cut down to the distributions frozen inside, plus what is not on PyPI."""
    bom = json.loads(ENV_SBOM.read_text())
    dists, others, unknown = classify(frozen_sources())
    if unknown:
        raise SystemExit("frozen files of unknown origin (the SBOM would miss them):\n  " + "\n  ".join(unknown[:30]))
    wanted = {_canonical(n): v for n, (v, _files) in dists.items()}
    kept, missing = [], set(wanted)
    for component in bom["components"]:
        key = _canonical(component["name"])
        if key in wanted and component.get("version") == wanted[key]:
            kept.append(component)
            missing.discard(key)
            files = dists[next(n for n in dists if _canonical(n) == key)][1]
            component.setdefault("properties", []).append({"name": "leoflow:frozen-files", "value": str(len(files))})
    if missing:
        raise SystemExit(f"frozen distributions missing from the environment's SBOM: {sorted(missing)}")
    for key, component in sorted(others.items()):
        files = component.pop("files")
        kept.append({"bom-ref": key, **component,
                     "properties": [{"name": "leoflow:frozen-files", "value": str(len(files))}]})
    refs = {c["bom-ref"] for c in kept} | {bom["metadata"]["component"]["bom-ref"]}
    bom["components"] = kept
    deps = []
    for dep in bom.get("dependencies", []):
        if dep["ref"] in refs:
            deps.append({**dep, "dependsOn": [r for r in dep.get("dependsOn", []) if r in refs]})
    bom["dependencies"] = deps
    # Same content, same serial number; the time is the commit's.
    body = json.dumps(kept, sort_keys=True).encode()
    bom["serialNumber"] = f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, hashlib.sha256(body).hexdigest())}"
    from datetime import datetime, timezone

    bom["metadata"]["timestamp"] = datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    bom["metadata"]["component"]["version"] = version()
    return bom


VALIDATE = """
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
error = JsonStrictValidator(SchemaVersion.from_version(sys.argv[1])).validate_str(sys.stdin.read())
print(error or "", end="")
"""


def validate_sbom(text: str, spec: str) -> None:
    """Against CycloneDX's own JSON schema (strict), with the library cyclonedx-bom comes with."""
    out = subprocess.run([str(SBOM_PYTHON), "-c", VALIDATE, spec], input=text, capture_output=True, text=True)
    if out.returncode != 0 or out.stdout:
        raise SystemExit(f"the SBOM does not validate against CycloneDX {spec}: {out.stdout}{out.stderr}")


def self_test(executable: Path, onedir_program: Path) -> None:
    """Before packing: the single file as a user meets it (build/smoke.py), and the folder build starts."""
    smoke = subprocess.run([sys.executable, str(ROOT / "build/smoke.py"), str(executable)])
    if smoke.returncode != 0:
        raise SystemExit(f"self-test of {executable} failed: not packed")
    out = subprocess.run([str(onedir_program), "version"], capture_output=True, text=True, timeout=60)
    if out.returncode != 0 or out.stdout.split()[:1] != [version()]:
        raise SystemExit(f"self-test of {onedir_program} failed: {out.stdout}{out.stderr}")


def self_test_client(executable: Path) -> None:
    """Windows: the client CLI only. `version` answers, `lite` says why it does not run here."""
    out = subprocess.run([str(executable), "version"], capture_output=True, text=True, timeout=120)
    if out.returncode != 0 or out.stdout.split()[:1] != [version()]:
        raise SystemExit(f"self-test of {executable} failed: {out.stdout}{out.stderr}")
    out = subprocess.run([str(executable), "lite"], capture_output=True, text=True, timeout=120)
    if out.returncode != 2 or "task SDK does not run tasks there" not in out.stderr:
        raise SystemExit(f"self-test of {executable}: lite should refuse on Windows: {out.stdout}{out.stderr}")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def pack() -> None:
    epoch, name = source_date_epoch(), f"leoflow-{version()}-{target()}"
    windows = sys.platform == "win32"  # one .exe from PyInstaller's onefile mode, no onedir asset
    executable = DIST / ("leoflow.exe" if windows else "leoflow")
    if windows:
        self_test_client(executable)
    else:
        self_test(executable, ONEDIR / "leoflow")
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    bom = frozen_sbom(epoch)
    text = json.dumps(bom, indent=2, sort_keys=False) + "\n"
    validate_sbom(text, bom["specVersion"])
    (OUT / f"{name}.cdx.json").write_text(text)
    (OUT / (name + executable.suffix)).write_bytes(executable.read_bytes())
    os.chmod(OUT / (name + executable.suffix), 0o755)
    if not windows:
        with open(OUT / f"{name}-onedir.tar.gz", "wb") as f:
            deterministic_tar_gz(ONEDIR, f, root=name, mtime=epoch)
    # The wheel and sdist, with the UI build and the editor inside (build/wheel.py).
    subprocess.run([str(SBOM_PYTHON), str(ROOT / "build/wheel.py"), str(OUT)], check=True,
                   env={**os.environ, "SOURCE_DATE_EPOCH": str(epoch)})
    assets = sorted(p.name for p in OUT.iterdir())
    (OUT / "checksums.txt").write_text("".join(f"{sha256(OUT / a)}  {a}\n" for a in assets))
    if not windows:
        check = subprocess.run(["sha256sum", "--check", "--strict", "checksums.txt"], cwd=OUT,
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise SystemExit(f"checksums do not verify: {check.stdout}{check.stderr}")
    pypi = sum(1 for c in bom["components"] if c.get("purl", "").startswith("pkg:pypi/"))
    print(f"{OUT.relative_to(ROOT)}: {', '.join(assets)}, checksums.txt; SBOM: {len(bom['components'])} "
          f"components ({pypi} from PyPI)")


if __name__ == "__main__":
    steps = {"environment-sbom": environment_sbom, "pack": pack}
    if len(sys.argv) != 2 or sys.argv[1] not in steps:
        raise SystemExit(f"usage: {sys.argv[0]} {'|'.join(steps)}")
    steps[sys.argv[1]]()
