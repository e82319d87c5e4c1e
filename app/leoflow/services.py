"""What every long-running part is handed: settings, the database engine and the bus."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from .bus import Bus
from .config import Settings


@dataclass
class Services:
    settings: Settings
    engine: Engine
    bus: Bus
    mode: str = "lite"  # "lite" or "server"
    crypt: object = field(default=None, repr=False)  # secrets.fernet.Crypt: secrets at rest
    stopping: threading.Event = field(default_factory=threading.Event)  # set when a graceful stop begins
    # A part of this process that cannot work now, by health component ("scheduler"), and why: shown by
    # /monitor/health (lite's fork server while it is being replaced).
    problems: dict = field(default_factory=dict)


def open_services(settings: Settings, *, mode: str = "lite", migrate: bool = True) -> Services:
    from .bus import connect
    from .secrets import fernet
    from .store import migrate as migrations
    from .store.engine import make_engine

    from .config import make_home, make_private_folder

    make_home(settings.home)
    make_private_folder(settings.logs_folder)  # task logs may hold what a task printed: this user's only
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size,
                         max_overflow=settings.database_max_overflow)
    refuse_airflow_database(engine, settings.database_url, settings)
    if migrate:
        # A brand-new lite home skips replaying each migration (and importing Alembic) to build its schema.
        fresh = mode == "lite" and engine.dialect.name == "sqlite" and migrations.create_fresh(engine)
        if not fresh:
            migrations.upgrade(engine)
    # A wrong or missing Fernet key stops the start here, before anything reads a secret.
    crypt, generated = fernet.load(settings.home, mode=mode, configured=settings.fernet_key)
    fernet.check_stored(engine, crypt, generated=generated, home=settings.home)
    # Without Redis, server replicas wake each other through Postgres; lite wakes itself in memory.
    bus = connect(settings.redis_url, database_url=settings.database_url if mode == "server" else None)
    return Services(settings=settings, engine=engine, bus=bus, mode=mode, crypt=crypt)


def refuse_airflow_database(engine, url: str, settings=None) -> None:
    """Airflow's own metadata database given as Leoflow's: one line saying so, and offering the import."""
    from .store import migrate as migrations

    revision = migrations.airflow_revision(engine)
    if revision is None:
        return
    from .cli.context import fail, shown_url

    engine.dispose()
    import os

    source = ""
    if (settings is not None and "[database] sql_alchemy_conn" in settings.airflow_cfg_used
            and not os.environ.get("LEOFLOW_DATABASE_URL") and not os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN")):
        source = f" (the [database] sql_alchemy_conn of {settings.airflow_cfg_path})"
    raise fail(f"{shown_url(url)}{source} is an Airflow metadata database (Airflow's revision {revision}), not "
               f"Leoflow's: give Leoflow a database of its own with LEOFLOW_DATABASE_URL and "
               f"copy Airflow's Variables, Connections, pools and users into it with "
               f"`leoflow db import-airflow {shown_url(url)}`")
