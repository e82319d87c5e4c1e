"""`leoflow migrate` and `leoflow db migrate|check|reset`."""

from __future__ import annotations

import sys


def _engine(args):
    from leoflow import config
    from leoflow.store.engine import make_engine

    from .context import check_database_reachable, check_home_writable

    settings = config.load(home=args.home)
    check_home_writable(settings.home)
    check_database_reachable(settings.database_url)
    engine = make_engine(settings.database_url)
    from leoflow.services import refuse_airflow_database

    refuse_airflow_database(engine, settings.database_url, settings)  # never migrated nor reset by Leoflow
    return engine, settings


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def migrate(args) -> int:
    from leoflow.store import migrate as m

    engine, settings = _engine(args)
    applied = m.upgrade(engine)
    print(f"Database {_shown(settings.database_url)}: "
          f"{'migrated to' if applied else 'already at'} revision {m.current_revision(engine)}")
    return 0


def check(args) -> int:
    from leoflow.store import migrate as m

    engine, _ = _engine(args)
    try:
        current = m.current_revision(engine)
    except Exception as exc:
        print(f"Database unreachable: {exc}", file=sys.stderr)
        return 1
    if not m.is_current(engine):
        print(f"Database needs migrating (at {current}); run `leoflow migrate`", file=sys.stderr)
        return 1
    print(f"Database reachable and current (revision {current})")
    return 0


def reset(args) -> int:
    from leoflow.store import migrate as m

    engine, _ = _engine(args)
    if not args.yes:
        if not sys.stdin.isatty():
            from .context import fail, shown_url

            raise fail(f"`db reset` drops every table of {shown_url(str(engine.url))} and asks first, but there "
                       f"is no terminal to ask on: add --yes to reset without asking")
        answer = input(f"Drop every table in {engine.url.render_as_string(hide_password=True)}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Cancelled.")
            return 1
    m.reset(engine)
    print("Database reset.")
    return 0
