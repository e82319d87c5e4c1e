"""Apply the migrations shipped inside the package (`leoflow migrate`, `leoflow db ...`).

Checking whether a database is current costs one query; Alembic is imported
only when there is something to do.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


def _alembic_config(connection):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(None)
    return ScriptDirectory.from_config(cfg).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _head() -> str:
    from leoflow.store.migrations_head import HEAD

    return HEAD


def is_current(engine: Engine) -> bool:
    from leoflow.store.migrations_head import HEAD

    return current_revision(engine) == HEAD


def known_revisions() -> list[str]:
    """Every revision this build's migrations know, oldest first (from the file names: no Alembic import)."""
    names = sorted(p.stem for p in (MIGRATIONS / "versions").glob("*.py") if not p.name.startswith("_"))
    return [name.split("_", 1)[0] for name in names]


def schema_state(engine: Engine) -> tuple[str, str | None]:
    """("current" | "behind" | "ahead" | "empty", the database's revision).

    "ahead": the database was migrated by a newer Leoflow than this one, which must not touch it.
    """
    from leoflow.store.migrations_head import HEAD

    current = current_revision(engine)
    if current is None:
        return "empty", None
    if current == HEAD:
        return "current", current
    return ("behind" if current in known_revisions() else "ahead"), current


def airflow_revision(engine: Engine) -> str | None:
    """The Airflow schema revision when the database is an Airflow metadata database rather than Leoflow's
    (an alembic_version this build does not know, Airflow's tables, none of Leoflow's own); else None."""
    with engine.connect() as conn:
        found = inspect(conn)
        if not found.has_table("alembic_version") or found.has_table("leoflow_user"):
            return None
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        if revision in known_revisions() or not (found.has_table("dag_run") and found.has_table("slot_pool")):
            return None
    return revision


def create_fresh(engine: Engine) -> bool:
    """An empty database: create the declared schema at once and stamp it at HEAD; False if not empty.

    The same schema the migrations build (tests/store prove both equal) without importing Alembic:
    a first `leoflow lite` answers sooner. A migration that writes rows must seed them in _seed() too.
    """
    from leoflow.store.migrations_head import HEAD
    from leoflow.store.tables import metadata

    with engine.begin() as conn:
        if inspect(conn).get_table_names():
            return False
        metadata.create_all(conn, checkfirst=False)  # just seen empty: no has_table query per table
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, "
                          "CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"))
        conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": HEAD})
    _seed(engine)
    return True


MIGRATE_LOCK_KEY = 0x4C454F464C4F5702  # "LEOFLOW" + 2: one migration at a time on a Postgres database


def upgrade(engine: Engine) -> bool:
    """Bring the schema to head; True if anything was applied.

    On Postgres, several replicas (or migrate jobs) may start at once: the migration holds an
    advisory lock, and whoever gets it second finds the schema current.
    """
    if is_current(engine):
        return False
    import logging

    from alembic import command

    logging.getLogger("alembic").setLevel(logging.WARNING)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATE_LOCK_KEY})
            if inspect(conn).has_table("alembic_version") and conn.execute(
                    text("SELECT version_num FROM alembic_version")).scalar() == _head():
                return False
        command.upgrade(_alembic_config(conn), "head")
    _seed(engine)
    return True


def _seed(engine: Engine) -> None:
    """Rows every installation has: the default pool."""
    from leoflow.store import pools

    pools.ensure_default_pool(engine)


def reset(engine: Engine) -> None:
    """Drop everything Leoflow owns and migrate again."""
    from leoflow.store.tables import metadata

    with engine.begin() as conn:
        metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    upgrade(engine)
