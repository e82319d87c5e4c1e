"""`leoflow connections add|get|list|delete|import|export`, as `airflow connections ...` (Airflow 3.2).

A connection is given as a URI (`--conn-uri`), as JSON (`--conn-json`) or field by field (`--conn-type`,
`--conn-host`, ...). Passwords and extras are stored encrypted with the installation's Fernet key by the
store functions the REST API uses. Export writes Airflow's JSON, YAML or .env files; import reads them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from .context import common_args, fail, open_store, output_arg, report, write_text_file
from .output import print_rows

MASK = "***"
FIELD_FLAGS = ("conn_type", "conn_host", "conn_login", "conn_password", "conn_schema", "conn_port")
FILE_FORMATS = (".json", ".yaml", ".env")


def _sdk_connection(data: dict):
    from leoflow.sdk.connection import Connection

    return Connection(**{k: data.get(k) for k in ("conn_id", "conn_type", "description", "host", "schema",
                                                   "login", "password", "port", "extra")})


def uri_of(data: dict) -> str:
    """The connection as a URI, the extra in the query as Airflow writes it (`__extra__` when it is not flat)."""
    conn = _sdk_connection(data)
    uri = conn.get_uri()
    if conn.extra:
        extra = conn.extra_dejson
        try:
            query = urlencode(extra)
        except TypeError:
            query = None
        if not (query and extra == dict(parse_qsl(query, keep_blank_values=True))):
            query = urlencode({"__extra__": conn.extra})
        uri += ("?" if conn.schema else "/?") + query
    return uri


def id_problem(conn_id: str) -> str | None:
    """Why `conn_id` cannot name a connection (the REST API's rule, Airflow's), or None."""
    import re

    if len(conn_id) > 200:
        return f"The key: {conn_id} has to be less than 200 characters"
    if not re.fullmatch(r"[\w.-]+", conn_id):
        return (f"The key {conn_id!r} has to be made of alphanumeric characters, dashes, dots and underscores "
                f"exclusively")
    return None


def _check_conn_id(conn_id: str) -> None:
    if problem := id_problem(conn_id):
        raise fail(f"Could not create connection. {problem}")


def _from_args(args) -> dict:
    """The new connection's fields (clear text) from the flags."""
    from leoflow.sdk.connection import Connection

    has_uri, has_json = bool(args.conn_uri), bool(args.conn_json)
    if not args.conn_type and not (has_uri or has_json):
        raise fail("Must supply either conn-uri or conn-json if not supplying conn-type")
    if has_uri and has_json:
        raise fail("Cannot supply both conn-uri and conn-json")
    if has_uri or has_json:
        clashing = [flag for flag in FIELD_FLAGS if getattr(args, flag) is not None]
        if has_json and args.conn_extra is not None:
            clashing.append("--conn-extra")
        if clashing:
            raise fail(f"The following args are not compatible with the --conn-{'uri' if has_uri else 'json'} "
                       f"flag: {clashing!r}")
    try:
        if has_uri:
            if not urlsplit(args.conn_uri).scheme:
                raise ValueError(f"The URI provided to --conn-uri is invalid: {args.conn_uri}")
            conn = Connection.from_uri(args.conn_uri, args.conn_id)
        elif has_json:
            conn = Connection.from_json(args.conn_json, args.conn_id)
            if not conn.conn_type:
                raise ValueError("conn-json is invalid; must supply conn-type")
        else:
            conn = Connection(args.conn_id, conn_type=args.conn_type, host=args.conn_host, login=args.conn_login,
                              password=args.conn_password, schema=args.conn_schema, port=args.conn_port)
    except (ValueError, TypeError) as exc:
        raise fail(str(exc)) from None
    if args.conn_extra is not None and not has_json:
        _check_extra(args.conn_extra)
        conn.extra = args.conn_extra
    if args.conn_description is not None and not has_json:
        conn.description = args.conn_description
    return {"conn_type": conn.conn_type, "description": conn.description, "host": conn.host or None,
            "schema": conn.schema or None, "login": conn.login, "password": conn.password, "port": conn.port,
            "extra": conn.extra}


def _check_extra(extra: str) -> None:
    try:
        json.loads(extra)
    except ValueError as exc:
        raise fail(f"--conn-extra is not valid JSON: {exc}") from None


def add(args) -> int:
    from leoflow.store import connections as store

    _check_conn_id(args.conn_id)
    values = _from_args(args)
    services = open_store(args)
    with services.engine.begin() as conn:
        if store.get(conn, args.conn_id) is not None:
            print(f"A connection with `conn_id`={args.conn_id} already exists.", file=sys.stderr)
            return 1
        store.insert(conn, args.conn_id, values, crypt=services.crypt)
    shown = args.conn_uri or (f"{values['conn_type']}://{values['login'] or ''}:"
                              f"{'******' if values['password'] else ''}@{values['host'] or ''}:"
                              f"{values['port'] or ''}" + (f"/{values['schema']}" if values['schema'] else ""))
    print(f"Successfully added `conn_id`={args.conn_id} : {shown}")
    return 0


def _details(row, crypt, *, hide: bool = False) -> dict:
    from leoflow.store import connections as store

    data = store.clear(row, crypt)
    extra = _sdk_connection(data).extra_dejson
    uri = uri_of(data)
    if hide:
        parts = urlsplit(uri)
        if "@" in parts.netloc:
            uri = uri.replace(parts.netloc, f"{MASK}:{MASK}@{parts.netloc.split('@', 1)[1]}", 1)
    return {"id": row.id, "conn_id": row.conn_id, "conn_type": data["conn_type"],
            "description": data["description"], "host": data["host"], "schema": data["schema"],
            "login": data["login"], "password": (MASK if hide and data["password"] else data["password"]),
            "port": data["port"], "is_encrypted": bool(row.is_encrypted),
            "is_extra_encrypted": bool(row.is_extra_encrypted),
            "extra_dejson": (MASK if hide and extra else extra), "get_uri": uri}


DETAIL_COLUMNS = ["id", "conn_id", "conn_type", "description", "host", "schema", "login", "password", "port",
                  "is_encrypted", "is_extra_encrypted", "extra_dejson", "get_uri"]


def get(args) -> int:
    from leoflow.store import connections as store

    services = open_store(args)
    with services.engine.connect() as conn:
        row = store.get(conn, args.conn_id)
    if row is None:
        print("Connection not found.", file=sys.stderr)
        return 1
    print_rows([_details(row, services.crypt)], DETAIL_COLUMNS, args.output)
    return 0


def list_(args) -> int:
    from sqlalchemy import select

    from leoflow.store.tables import connection

    if args.hide_sensitive and not args.show_values:
        raise fail("--hide-sensitive can only be used with --show-values")
    services = open_store(args)
    with services.engine.connect() as conn:
        rows = conn.execute(select(connection).order_by(connection.c.conn_id)).all()
    if args.conn_id:
        rows = [r for r in rows if r.conn_id == args.conn_id]
    if not args.show_values:
        print_rows([{"conn_id": r.conn_id, "conn_type": r.conn_type} for r in rows], ["conn_id", "conn_type"],
                   args.output)
        return 0
    print_rows([_details(r, services.crypt, hide=args.hide_sensitive) for r in rows], DETAIL_COLUMNS, args.output)
    return 0


def delete(args) -> int:
    from leoflow.store import connections as store

    services = open_store(args)
    with services.engine.begin() as conn:
        if not store.remove(conn, args.conn_id):
            print(f"Did not find a connection with `conn_id`={args.conn_id}", file=sys.stderr)
            return 1
    print(f"Successfully deleted connection with `conn_id`={args.conn_id}")
    return 0


def _file_dict(data: dict) -> dict:
    """A connection as Airflow's export files write it."""
    return {k: data[k] for k in ("conn_type", "description", "login", "password", "host", "port", "schema",
                                 "extra")}


def _yaml(connections: dict) -> str:
    """YAML of {conn_id: {field: value}}: keys sorted, scalars JSON-quoted where YAML needs quoting."""
    lines = []
    for conn_id in sorted(connections):
        lines.append(f"{_yaml_scalar(conn_id)}:")
        for key in sorted(connections[conn_id]):
            lines.append(f"  {key}: {_yaml_scalar(connections[conn_id][key])}")
    return "\n".join(lines) + ("\n" if lines else "{}\n")


def _yaml_scalar(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool) or isinstance(value, int):
        return json.dumps(value)
    text = str(value)
    plain = text and text.strip() == text and not any(c in text for c in ":#{}[],&*!|>'\"%@`\n") \
        and text.lower() not in ("null", "true", "false", "yes", "no", "on", "off", "~") \
        and not text[0] in "-?" and not _is_number(text)
    return text if plain else json.dumps(text)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def export(args) -> int:
    from sqlalchemy import select

    from leoflow.store import connections as store
    from leoflow.store.tables import connection

    to_stdout = args.file in ("-", "/dev/stdout")
    if args.file_format:
        file_format = "." + args.file_format.lower()
    elif to_stdout:
        file_format = ".json"
    else:
        file_format = Path(args.file).suffix.lower()
        if file_format not in FILE_FORMATS:
            raise fail(f"Unsupported file format. The file must have the extension {', '.join(FILE_FORMATS)}.")
    if args.serialization_format and file_format != ".env":
        raise fail("Option `--serialization-format` may only be used with file type `env`.")
    services = open_store(args)
    with services.engine.connect() as conn:
        rows = [store.clear(r, services.crypt)
                for r in conn.execute(select(connection).order_by(connection.c.conn_id))]
    if file_format == ".env":
        as_json = args.serialization_format == "json"
        text = "".join(f"{d['conn_id']}={json.dumps(_file_dict(d)) if as_json else uri_of(d)}\n" for d in rows)
    elif file_format == ".yaml":
        text = _yaml({d["conn_id"]: _file_dict(d) for d in rows})
    else:
        text = json.dumps({d["conn_id"]: _file_dict(d) for d in rows}, indent=2)
    write_text_file(args.file, text)
    where = "." if to_stdout else f" to {args.file}."
    report(f"{len(rows)} Connections successfully exported{where}", args.file)
    return 0


def _read_connections_file(path: str) -> dict:
    """{conn_id: fields} from an Airflow connections file: JSON, YAML or .env (URI or JSON per line)."""
    from leoflow.sdk.connection import Connection

    suffix = Path(path).suffix.lower()
    try:
        text = open(path, encoding="utf-8").read()
    except FileNotFoundError:
        raise fail(f"Missing connections file {path}") from None
    except OSError as exc:
        raise fail(f"cannot read connections file {path}: {exc.strerror}") from None
    try:
        if suffix == ".env":
            raw = {}
            for number, line in enumerate(text.splitlines(), 1):
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                key, sep, value = line.partition("=")
                if not sep:
                    raise ValueError(f"line {number} is not KEY=VALUE")
                raw[key.strip()] = value.strip()
        elif suffix in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise fail("reading YAML needs PyYAML (pip install pyyaml); or export the connections as JSON") \
                    from None
            raw = yaml.safe_load(text) or {}
        elif suffix == ".json":
            raw = json.loads(text)
        else:
            raise fail(f"Unsupported file format. The file must have the extension {', '.join(FILE_FORMATS)}.")
        if not isinstance(raw, dict):
            raise ValueError("the file must hold an object of conn_id -> connection")
        out = {}
        for conn_id, value in raw.items():
            if isinstance(value, str):
                conn = (Connection.from_json(value, conn_id) if value.lstrip().startswith("{")
                        else Connection.from_uri(value, conn_id))
            elif isinstance(value, dict):
                conn = Connection.from_json(json.dumps(value), conn_id)
            else:
                raise ValueError(f"connection {conn_id!r} is neither a URI nor an object of fields")
            out[str(conn_id)] = {"conn_type": conn.conn_type, "description": conn.description,
                                 "host": conn.host or None, "schema": conn.schema or None, "login": conn.login,
                                 "password": conn.password, "port": conn.port, "extra": conn.extra}
        return out
    except (ValueError, TypeError) as exc:
        raise fail(f"connections file {path} cannot be read: {exc}") from None


def import_(args) -> int:
    from leoflow.store import connections as store

    found = _read_connections_file(args.file)
    services = open_store(args)
    with services.engine.begin() as conn:
        for conn_id, values in found.items():
            if problem := id_problem(conn_id):
                print(f"Could not import connection. {problem}")
                continue
            if store.get(conn, conn_id) is not None:
                if not args.overwrite:
                    print(f"Could not import connection {conn_id}: connection already exists.")
                    continue
                store.update_(conn, conn_id, values, crypt=services.crypt)
            else:
                store.insert(conn, conn_id, values, crypt=services.crypt)
            print(f"Imported connection {conn_id}")
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("connections", help="add, get, list, delete, import and export Connections")
    c = p.add_subparsers(dest="connections_command", metavar="ACTION")
    p.set_defaults(func=lambda args: p.print_help() or 2)

    q = c.add_parser("add", help="add a connection (from a URI, JSON or field by field)")
    common_args(q)
    q.add_argument("conn_id")
    q.add_argument("--conn-uri", help="e.g. postgres://user:password@host:5432/db?sslmode=require")
    q.add_argument("--conn-json", help='e.g. {"conn_type": "http", "host": "example.com"}')
    q.add_argument("--conn-type")
    q.add_argument("--conn-description")
    q.add_argument("--conn-host")
    q.add_argument("--conn-login")
    q.add_argument("--conn-password")
    q.add_argument("--conn-schema")
    q.add_argument("--conn-port", type=int)
    q.add_argument("--conn-extra", help="a JSON object")
    q.set_defaults(func=add)

    q = c.add_parser("get", help="show a connection")
    common_args(q)
    q.add_argument("conn_id")
    output_arg(q)
    q.add_argument("--color", choices=("auto", "on", "off"), default="auto", help=argparse.SUPPRESS)
    q.set_defaults(func=get)

    q = c.add_parser("list", help="list the connections' ids and types")
    common_args(q)
    output_arg(q)
    q.add_argument("--conn-id", help="only this connection")
    q.add_argument("--show-values", action="store_true", help="show every field")
    q.add_argument("--hide-sensitive", action="store_true", help="mask passwords, extras and URIs' credentials")
    q.set_defaults(func=list_)

    q = c.add_parser("delete", help="delete a connection")
    common_args(q)
    q.add_argument("conn_id")
    q.add_argument("--color", choices=("auto", "on", "off"), default="auto", help=argparse.SUPPRESS)
    q.set_defaults(func=delete)

    q = c.add_parser("export", help="write every connection to a .json, .yaml or .env file (- for stdout)")
    common_args(q)
    q.add_argument("file")
    q.add_argument("--file-format", "--format", dest="file_format", choices=("json", "yaml", "env"))
    q.add_argument("--serialization-format", choices=("json", "uri"), help="for .env files (default: uri)")
    q.set_defaults(func=export)

    q = c.add_parser("import", help="add the connections of a .json, .yaml or .env file")
    common_args(q)
    q.add_argument("file")
    q.add_argument("--overwrite", action="store_true", help="replace connections that exist")
    q.set_defaults(func=import_)

