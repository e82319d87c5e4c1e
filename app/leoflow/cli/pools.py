"""`leoflow pools list|get|set|delete|import|export`, as `airflow pools ...` (Airflow 3.2).

The file is Airflow's: {"name": {"slots": N, "description": "...", "include_deferred": false}}.
A change wakes a running scheduler: tasks waiting for a slot may start at once.
"""

from __future__ import annotations

import json
import sys

from .context import common_args, fail, open_store, output_arg, read_json_file, write_text_file
from .output import print_rows

COLUMNS = ["pool", "slots", "description", "include_deferred"]


def _rows(conn, name: str | None = None) -> list[dict]:
    from sqlalchemy import select

    from leoflow.store.tables import slot_pool

    query = select(slot_pool).order_by(slot_pool.c.id)
    if name is not None:
        query = query.where(slot_pool.c.pool == name)
    return [{"pool": r.pool, "slots": r.slots, "description": r.description,
             "include_deferred": bool(r.include_deferred)} for r in conn.execute(query)]


def _put(conn, name: str, slots: int, description: str | None, include_deferred: bool) -> None:
    from sqlalchemy import select, update

    from leoflow.store.tables import slot_pool

    values = {"slots": slots, "description": description, "include_deferred": include_deferred}
    if conn.execute(select(slot_pool.c.id).where(slot_pool.c.pool == name)).first() is None:
        conn.execute(slot_pool.insert().values(pool=name, **values))
    else:
        conn.execute(update(slot_pool).where(slot_pool.c.pool == name).values(**values))


def _check(name, slots) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > 256:
        raise fail(f"pool name {name!r} must be 1 to 256 characters")
    if isinstance(slots, bool) or not isinstance(slots, int) or not -1 <= slots <= 2**31 - 1:
        raise fail(f"pool {name}: slots must be a whole number (-1 for unlimited), not {slots!r}")


def list_(args) -> int:
    services = open_store(args)
    with services.engine.connect() as conn:
        print_rows(_rows(conn), COLUMNS, args.output)
    return 0


def get(args) -> int:
    services = open_store(args)
    with services.engine.connect() as conn:
        rows = _rows(conn, args.pool)
    if not rows:
        print(f"Pool {args.pool} does not exist", file=sys.stderr)
        return 1
    print_rows(rows, COLUMNS, args.output)
    return 0


def set_(args) -> int:
    _check(args.pool, args.slots)
    services = open_store(args)
    with services.engine.begin() as conn:
        _put(conn, args.pool, args.slots, args.description, args.include_deferred)
    services.bus.notify_scheduler(kind="pool_changed")
    print(f"Pool {args.pool} created")
    return 0


def delete(args) -> int:
    from sqlalchemy import delete as sql_delete

    from leoflow.store.pools import DEFAULT_POOL
    from leoflow.store.tables import slot_pool

    if args.pool == DEFAULT_POOL:
        raise fail(f"{DEFAULT_POOL} cannot be deleted")
    services = open_store(args)
    with services.engine.begin() as conn:
        if conn.execute(sql_delete(slot_pool).where(slot_pool.c.pool == args.pool)).rowcount == 0:
            print(f"Pool {args.pool} does not exist", file=sys.stderr)
            return 1
    print(f"Pool {args.pool} deleted")
    return 0


def import_(args) -> int:
    data = read_json_file(args.file, "pools")
    if not isinstance(data, dict):
        raise fail(f"pools file {args.file} must hold a JSON object of name -> pool")
    good = {k: v for k, v in data.items() if isinstance(v, dict) and "slots" in v and "description" in v}
    for name, pool in good.items():
        _check(name, pool["slots"])
    services = open_store(args)
    with services.engine.begin() as conn:
        for name, pool in good.items():
            _put(conn, name, pool["slots"], pool["description"], bool(pool.get("include_deferred", False)))
    services.bus.notify_scheduler(kind="pool_changed")
    failed = [k for k in data if k not in good]
    if failed:
        print(f"Failed to update pool(s): {', '.join(failed)}", file=sys.stderr)
        return 1
    print(f"Uploaded {len(good)} pool(s)")
    return 0


def export(args) -> int:
    services = open_store(args)
    with services.engine.connect() as conn:
        rows = _rows(conn)
    out = {r["pool"]: {"slots": r["slots"], "description": r["description"],
                       "include_deferred": r["include_deferred"]} for r in rows}
    write_text_file(args.file, json.dumps(out, sort_keys=True, indent=4))
    print(f"Exported {len(rows)} pools to {args.file}", file=sys.stderr if args.file == "-" else sys.stdout)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("pools", help="list, get, set, delete, import and export pools")
    c = p.add_subparsers(dest="pools_command", metavar="ACTION")
    p.set_defaults(func=lambda args: p.print_help() or 2)

    q = c.add_parser("list", help="list the pools")
    common_args(q)
    output_arg(q)
    q.set_defaults(func=list_)

    q = c.add_parser("get", help="show a pool")
    common_args(q)
    q.add_argument("pool")
    output_arg(q)
    q.set_defaults(func=get)

    q = c.add_parser("set", help="create or change a pool")
    common_args(q)
    q.add_argument("pool")
    q.add_argument("slots", type=int)
    q.add_argument("description")
    q.add_argument("--include-deferred", action="store_true", help="deferred tasks hold a slot too")
    output_arg(q)
    q.set_defaults(func=set_)

    q = c.add_parser("delete", help="delete a pool")
    common_args(q)
    q.add_argument("pool")
    output_arg(q)
    q.set_defaults(func=delete)

    q = c.add_parser("import", help="create or change the pools of a JSON file")
    common_args(q)
    q.add_argument("file")
    q.set_defaults(func=import_)

    q = c.add_parser("export", help="write every pool to a JSON file (- for stdout)")
    common_args(q)
    q.add_argument("file")
    q.set_defaults(func=export)
