"""`leoflow variables get|set|delete|list|import|export`, as `airflow variables ...` (Airflow 3.2).

Values are stored encrypted with the installation's Fernet key, by the store functions the REST API uses.
The files are Airflow's: a JSON object of key -> value, or key -> {"value": ..., "description": ...}.
"""

from __future__ import annotations

import json
import os
import sys

from .context import common_args, fail, open_store, output_arg, read_json_file, report, write_text_file
from .output import print_rows

MASK = "***"


MAX_KEY = 250  # the column's size, as the REST API checks it


def _check_key(key) -> None:
    if not isinstance(key, str) or not key or len(key) > MAX_KEY:
        raise fail(f"variable key {str(key)[:60]!r} must be 1 to {MAX_KEY} characters")


def get(args) -> int:
    from leoflow.store import variables as store

    services = open_store(args)
    with services.engine.connect() as conn:
        value = store.value_of(store.get(conn, args.key), services.crypt)
    if value is None:
        if args.default is None:
            print(f"Variable {args.key} does not exist.", file=sys.stderr)
            return 1
        value = args.default
    elif args.json:
        try:
            parsed = json.loads(value)
        except ValueError:
            raise fail(f"variable {args.key} is not JSON; get it without -j") from None
        value = parsed if isinstance(parsed, str) else json.dumps(parsed)
    print(value)
    return 0


def set_(args) -> int:
    from leoflow.store import variables as store

    _check_key(args.key)
    value = json.dumps(args.value, indent=2) if args.json else args.value  # -j: the text as a JSON string
    services = open_store(args)
    with services.engine.begin() as conn:
        store.put(conn, args.key, value, args.description, crypt=services.crypt)
    print(f"Variable {args.key} created")
    return 0


def delete(args) -> int:
    from leoflow.store import variables as store

    services = open_store(args)
    with services.engine.begin() as conn:
        store.remove(conn, args.key)
    print(f"Variable {args.key} deleted")  # as Airflow: deleting a missing variable is not an error
    return 0


def list_(args) -> int:
    from sqlalchemy import select

    from leoflow.store import variables as store
    from leoflow.store.tables import variable

    if args.hide_sensitive and not args.show_values:
        raise fail("--hide-sensitive can only be used with --show-values")
    services = open_store(args)
    with services.engine.connect() as conn:
        rows = conn.execute(select(variable).order_by(variable.c.key)).all()
    if not args.show_values:
        print_rows([{"key": r.key} for r in rows], ["key"], args.output)
        return 0
    items = [{"key": r.key, "val": MASK if args.hide_sensitive else (store.value_of(r, services.crypt) or "")}
             for r in rows]
    print_rows(items, ["key", "val"], args.output)
    return 0


def import_(args) -> int:
    from sqlalchemy import select

    from leoflow.store import variables as store
    from leoflow.store.tables import variable

    data = _read_variables_file(args.file)
    for key in data:
        _check_key(key)
    services = open_store(args)
    updated, failed, skipped = 0, 0, []
    with services.engine.begin() as conn:
        existing = {k for (k,) in conn.execute(select(variable.c.key).where(variable.c.key.in_(list(data))))}
        if args.action_on_existing_key == "fail" and existing:
            print(f"Failed. These keys: {sorted(existing)} already exists.", file=sys.stderr)
            return 1
        for key, entry in data.items():
            if args.action_on_existing_key == "skip" and key in existing:
                skipped.append(key)
                continue
            value, description = entry, None
            if isinstance(entry, dict) and entry.get("value"):
                value, description = entry["value"], entry.get("description")
            try:  # a YAML date, say, is no JSON value: that key fails, as in Airflow
                text = value if isinstance(value, str) else json.dumps(value, indent=2)
            except (TypeError, ValueError) as exc:
                print(f"Variable import failed: {exc!r}")
                failed += 1
                continue
            store.put(conn, key, text, description, crypt=services.crypt)
            updated += 1
    print(f"{updated} of {len(data)} variables successfully updated.")
    if failed:
        print(f"{failed} variable(s) failed to be updated.")
    if skipped:
        print(f"The variables with these keys: {sorted(skipped)} were skipped because they already exists")
    return 0


def _read_variables_file(path: str) -> dict:
    """key -> value (or {"value", "description"}) from a .json, .yaml/.yml or .env file, read as Airflow 3.2
    reads them ("-": JSON on stdin)."""
    suffix = "" if path == "-" else os.path.splitext(path)[1].lower()
    if suffix not in ("", ".json", ".yaml", ".yml", ".env"):
        raise fail("Unsupported file format. The file must have one of the following extensions: "
                   ".env .json .yaml .yml")
    if suffix in ("", ".json"):
        data = read_json_file(path, "variables")
        what = "a JSON object"
    else:
        try:
            text = open(path, encoding="utf-8").read()
        except FileNotFoundError:
            raise fail(f"no variables file {path}") from None
        except OSError as exc:
            raise fail(f"cannot read variables file {path}: {exc.strerror}") from None
        data = _parse_env(path, text) if suffix == ".env" else _parse_yaml(path, text)
        what = "a YAML mapping"
    if not isinstance(data, dict):
        raise fail(f"variables file {path} must hold {what} of key -> value")
    return {str(k): v for k, v in data.items()}


def _parse_env(path: str, text: str) -> dict:
    """KEY=VALUE per line, both taken as written (the value is text); blank lines and # comments skipped."""
    out: dict = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        problem = ("expected KEY=VALUE" if not sep else "the key is empty" if not key else
                   "the value is empty" if not value else f"{key!r} is given twice" if key in out else None)
        if problem:
            raise fail(f"variables file {path}, line {number}: {problem}")
        out[key] = value
    return out


def _parse_yaml(path: str, text: str):
    import yaml  # PyYAML: the Kubernetes client Leoflow ships needs it too

    if not text.strip():
        raise fail(f"variables file {path} is empty")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise fail(f"variables file {path} is not valid YAML: {' '.join(str(exc).split())}") from None


def export(args) -> int:
    from sqlalchemy import select

    from leoflow.store import variables as store
    from leoflow.store.tables import variable

    services = open_store(args)
    out = {}
    with services.engine.connect() as conn:
        for row in conn.execute(select(variable).order_by(variable.c.key)):
            text = store.value_of(row, services.crypt)
            try:
                value = json.loads(text)
            except (TypeError, ValueError):
                value = text
            out[row.key] = {"value": value, "description": row.description} if row.description else value
    write_text_file(args.file, json.dumps(out, sort_keys=True, indent=4))
    where = "." if args.file in ("-", "/dev/stdout") else f" to {args.file}."
    report(f"{len(out)} Variables successfully exported{where}", args.file)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("variables", help="get, set, list, import and export Variables")
    v = p.add_subparsers(dest="variables_command", metavar="ACTION")
    p.set_defaults(func=lambda args: p.print_help() or 2)

    q = v.add_parser("get", help="print a variable's value")
    common_args(q)
    q.add_argument("key")
    q.add_argument("-d", "--default", help="printed when the variable does not exist")
    q.add_argument("-j", "--json", action="store_true", help="deserialize the value as JSON")
    q.set_defaults(func=get)

    q = v.add_parser("set", help="create or overwrite a variable")
    common_args(q)
    q.add_argument("key")
    q.add_argument("value")
    q.add_argument("--description")
    q.add_argument("-j", "--json", action="store_true", help="store the value serialized as JSON")
    q.set_defaults(func=set_)

    q = v.add_parser("delete", help="delete a variable")
    common_args(q)
    q.add_argument("key")
    q.set_defaults(func=delete)

    q = v.add_parser("list", help="list the variables' keys")
    common_args(q)
    output_arg(q)
    q.add_argument("--show-values", action="store_true", help="show the values too")
    q.add_argument("--hide-sensitive", action="store_true", help=f"show every value as {MASK}")
    q.set_defaults(func=list_)

    q = v.add_parser("import", help="create variables from a .json, .yaml or .env file")
    common_args(q)
    q.add_argument("file")
    q.add_argument("-a", "--action-on-existing-key", choices=("overwrite", "fail", "skip"), default="overwrite")
    q.set_defaults(func=import_)

    q = v.add_parser("export", help="write every variable to a JSON file (- for stdout)")
    common_args(q)
    q.add_argument("file")
    q.set_defaults(func=export)
