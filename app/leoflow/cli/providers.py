"""`leoflow providers install NAME... | list | links`: Airflow provider packages beside Leoflow.

`install` takes short names (`postgres`, `common-sql`) or requirement strings
(`postgres==6.2.0`, `apache-airflow-providers-http>=5`) and never installs Airflow itself
(leoflow.providers.install says how). `list` prints what `/api/v2/providers` shows, `links` the extra
link classes they declare (as `airflow providers links`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .output import FORMATS, print_rows


def add_parser(sub) -> None:
    providers = sub.add_parser("providers", help="install and list Airflow provider packages")
    providers_sub = providers.add_subparsers(dest="providers_command", metavar="ACTION")
    q = providers_sub.add_parser("install", help="install providers and their libraries (never Airflow itself)")
    q.add_argument("names", nargs="+", metavar="NAME", help="postgres, common-sql, http==5.3.0, ...")
    q.add_argument("--target", help="install into this folder instead of Leoflow's environment "
                                    "(the single executable's: $LEOFLOW_HOME/site-packages)")
    q.add_argument("--home", help="the single executable installs into HOME/site-packages "
                                  "(default: LEOFLOW_HOME or the user data dir)")
    q.add_argument("-c", "--constraint", help="a constraints file for the libraries (e.g. Airflow's)")
    q = providers_sub.add_parser("list", help="the installed providers")
    q.add_argument("-o", "--output", choices=FORMATS, default="table")
    q.add_argument("--home", help="with the single executable, HOME/site-packages's providers too")
    q = providers_sub.add_parser("links", help="the operator extra link classes the installed providers declare")
    q.add_argument("-o", "--output", choices=FORMATS, default="table")
    q.add_argument("--home", help="with the single executable, HOME/site-packages's providers too")

    p = sub.add_parser("pip", help="pip for Leoflow's Python, into $LEOFLOW_HOME/site-packages (libraries for DAGs)",
                       description="`leoflow pip install PKG...` installs libraries for DAGs into "
                       "HOME/site-packages, for the Python Leoflow runs on, beside Leoflow's own libraries "
                       "(another version of one of them is refused). `leoflow pip list|freeze|uninstall` act on "
                       "that folder; other pip commands run as they are.")
    p.add_argument("--home", help="folder holding all state (default: LEOFLOW_HOME or the user data dir)")
    p.add_argument("pip_args", nargs=argparse.REMAINDER, metavar="PIP-ARGS")


def run(args, parser) -> int:
    action = args.providers_command
    if action is None:
        parser.parse_args(["providers", "--help"])
    if action == "links":
        return list_links(args)
    return install(args) if action == "install" else list_providers(args)


def install(args) -> int:
    from leoflow.providers.install import InstallError, parse_request
    from leoflow.providers.install import install as do_install

    target = Path(args.target) if args.target else None  # None: the environment Leoflow runs in
    if target is None and getattr(sys, "frozen", False):
        # the single executable's environment is read-only: the home's site-packages, on its sys.path
        from leoflow import userlibs

        target = userlibs.site_packages(args.home)
    constraint = Path(args.constraint) if args.constraint else None
    if constraint is not None and not constraint.is_file():
        print(f"leoflow: --constraint {constraint}: no such file", file=sys.stderr)
        return 2
    try:
        for name in args.names:
            parse_request(name)  # a bad name or Airflow itself is refused before anything runs
    except InstallError as exc:
        print(f"leoflow: {exc}", file=sys.stderr)
        return 2
    where = f"into {target}" if target else f"into {sys.prefix}"
    print(f"Installing {', '.join(args.names)} {where} ...", flush=True)
    try:
        plan = do_install(args.names, target=target, extra_constraints=constraint,
                          log=lambda line: print(line, flush=True))
    except (InstallError, ValueError) as exc:
        print(f"leoflow: {exc}", file=sys.stderr)
        return 2
    for name, version in sorted(plan.providers.items()):
        print(f"installed {name}=={version}")
    if plan.third_party:
        print(f"with {len(plan.third_party)} libraries: {', '.join(plan.third_party)}")
    return 0


def list_providers(args) -> int:
    from leoflow.api.plugins import STANDARD_PROVIDER
    from leoflow.providers.discovery import installed_for_api

    rows = [p for p in installed_for_api() if p["package_name"] != STANDARD_PROVIDER["package_name"]]
    rows = sorted([dict(STANDARD_PROVIDER), *rows], key=lambda p: p["package_name"])
    print_rows(rows, ["package_name", "description", "version"], args.output)
    return 0


def list_links(args) -> int:
    """`airflow providers links`: each extra link class a provider's info names, sorted (one column)."""
    from leoflow.providers.discovery import extra_link_classes

    rows = [{"extra_link_class_name": name} for name in sorted(extra_link_classes())]
    print_rows(rows, ["extra_link_class_name"], args.output)
    return 0


def pip(args) -> int:
    """`leoflow pip ...`: install/list/freeze for HOME/site-packages; any other pip command as it is."""
    import subprocess

    from leoflow import userlibs
    from leoflow.providers.install import InstallError, pip_command
    from leoflow.providers.libraries import install_libraries

    pip_args = list(args.pip_args)
    target = userlibs.site_packages(args.home)
    if not pip_args:
        return subprocess.run([*pip_command(), "--help"]).returncode
    command = pip_args[0]
    if command == "install":
        if "--target" in pip_args or "-t" in pip_args or any(a.startswith("--target=") for a in pip_args):
            print("leoflow: `leoflow pip install` installs into HOME/site-packages; leave out --target",
                  file=sys.stderr)
            return 2
        print(f"Installing into {target} ...", flush=True)
        try:
            installed = install_libraries(pip_args[1:], target, log=lambda line: print(line, flush=True))
        except InstallError as exc:
            print(f"leoflow: {exc}", file=sys.stderr)
            return 1
        print(f"installed {', '.join(installed)}" if installed else "nothing to install: all are there")
        return 0
    if command == "uninstall":
        return uninstall(target, [a for a in pip_args[1:] if not a.startswith("-")])
    if command in ("list", "freeze"):
        return subprocess.run([*pip_command(), command, "--path", str(target), *pip_args[1:]]).returncode
    return subprocess.run([*pip_command(), *pip_args]).returncode


def uninstall(target: Path, names: list[str]) -> int:
    """Remove distributions from HOME/site-packages by their RECORD (pip's own uninstall refuses a folder
    outside the venv it runs in)."""
    import shutil
    from importlib import metadata

    from packaging.utils import canonicalize_name

    if not names:
        print("leoflow: pip uninstall needs the names of what to remove", file=sys.stderr)
        return 2
    found = {canonicalize_name(d.metadata["Name"]): d for d in metadata.distributions(path=[str(target)])}
    code = 0
    for name in names:
        dist = found.get(canonicalize_name(name))
        if dist is None:
            print(f"leoflow: {name} is not installed in {target}", file=sys.stderr)
            code = 1
            continue
        label = f"{dist.metadata['Name']}=={dist.version}"  # read before its METADATA goes
        folders = set()
        for file in dist.files or []:
            path = Path(dist.locate_file(file)).resolve()
            if target.resolve() in path.parents and path.is_file():
                path.unlink()
                folders.add(path.parent)
        for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):
            while folder != target.resolve() and folder.is_dir() and not any(
                    p for p in folder.iterdir() if p.name != "__pycache__"):
                shutil.rmtree(folder)
                folder = folder.parent
        print(f"uninstalled {label}")
    return code
