"""`leoflow users create|list|delete|reset-password`: the login users in the configured database.

The flags are those Airflow users know from `airflow users ...`. Every lite or server on the
database sees a change within seconds: users are read from the database, not from a home.
"""

from __future__ import annotations

import getpass
import secrets
import sys

from .output import print_rows

ROLE_NAMES = {"admin": "admin", "op": "op", "user": "user", "viewer": "viewer"}  # Airflow's Admin, Op, ...


def _engine(args):
    from leoflow import config
    from leoflow.store import migrate
    from leoflow.store.engine import make_engine

    settings = config.load(home=args.home)
    engine = make_engine(settings.database_url)
    if not migrate.is_current(engine):
        raise SystemExit("leoflow: the database schema is not current; run `leoflow migrate` first")
    return engine


def _role(value: str) -> str:
    role = ROLE_NAMES.get(value.strip().lower())
    if role is None:
        raise SystemExit(f"leoflow: --role {value!r} is not one of Admin, Op, User, Viewer")
    return role


def _password(args) -> tuple[str, bool]:
    """The new password and whether it was generated (and so must be printed)."""
    if getattr(args, "use_random_password", False):
        return secrets.token_urlsafe(12), True
    if args.password:
        return args.password, False
    if not sys.stdin.isatty():
        raise SystemExit("leoflow: give --password or --use-random-password (no terminal to ask on)")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat for confirmation: "):
        raise SystemExit("leoflow: the passwords do not match")
    if not first:
        raise SystemExit("leoflow: the password is empty")
    return first, False


def create(args) -> int:
    from leoflow.api.auth import hash_password
    from leoflow.store import users

    role = _role(args.role)
    password, generated = _password(args)
    with _engine(args).begin() as conn:
        if not users.create_user(conn, args.username, role, hash_password(password).hex(),
                                 first_name=args.firstname, last_name=args.lastname, email=args.email):
            raise SystemExit(f"leoflow: user {args.username!r} already exists")
    print(f"User {args.username!r} created with role {role}"
          + (f"; password: {password}" if generated else ""))
    return 0


def list(args) -> int:  # noqa: A001 - the command is called list
    from leoflow.store import users

    with _engine(args).connect() as conn:
        rows = [{"username": r.username, "role": r.role, "first_name": r.first_name, "last_name": r.last_name,
                 "email": r.email, "created_at": r.created_at.isoformat()} for r in users.all_users(conn)]
    print_rows(rows, ["username", "role", "first_name", "last_name", "email", "created_at"], args.output)
    return 0


def delete(args) -> int:
    from leoflow.store import users

    with _engine(args).begin() as conn:
        if not users.delete_user(conn, args.username):
            raise SystemExit(f"leoflow: no user {args.username!r}")
    print(f"User {args.username!r} deleted")
    return 0


def reset_password(args) -> int:
    from leoflow.api.auth import hash_password
    from leoflow.store import users

    password, generated = _password(args)
    with _engine(args).begin() as conn:
        if not users.update_user(conn, args.username, password_hash=hash_password(password).hex()):
            raise SystemExit(f"leoflow: no user {args.username!r}")
    print(f"Password of {args.username!r} changed" + (f"; new password: {password}" if generated else ""))
    return 0


def add_parser(sub) -> None:
    users = sub.add_parser("users", help="login users in the configured database")
    users_sub = users.add_subparsers(dest="users_command", metavar="ACTION")

    def common(q):
        q.add_argument("--home", help="folder holding all state (default: LEOFLOW_HOME or the user data dir)")

    q = users_sub.add_parser("create", help="create a user")
    common(q)
    q.add_argument("-u", "--username", required=True)
    q.add_argument("-r", "--role", required=True, help="Admin, Op, User or Viewer")
    q.add_argument("-f", "--firstname")
    q.add_argument("-l", "--lastname")
    q.add_argument("-e", "--email")
    q.add_argument("-p", "--password")
    q.add_argument("--use-random-password", action="store_true", help="generate one and print it")
    q = users_sub.add_parser("list", help="list the users")
    common(q)
    q.add_argument("-o", "--output", choices=("table", "json", "yaml", "plain"), default="table")
    q = users_sub.add_parser("delete", help="delete a user (their tokens stop working within seconds)")
    common(q)
    q.add_argument("-u", "--username", required=True)
    q = users_sub.add_parser("reset-password", help="set a user's password")
    common(q)
    q.add_argument("-u", "--username", required=True)
    q.add_argument("-p", "--password")
    q.add_argument("--use-random-password", action="store_true", help="generate one and print it")


def run(args, parser) -> int:
    action = args.users_command
    if action is None:
        parser.parse_args(["users", "--help"])
    return {"create": create, "list": list, "delete": delete, "reset-password": reset_password}[action](args)
