"""The shipped migrations build exactly the schema the code declares, on SQLite and Postgres."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from leoflow.store import migrate
from leoflow.store.migrations_head import HEAD
from leoflow.store.tables import metadata


def test_head_constant_matches_the_migration_scripts():
    assert migrate.head_revision() == HEAD


def test_upgrade_creates_the_declared_schema(engine):
    assert migrate.is_current(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), metadata)
    assert diff == []


def test_upgrade_twice_is_a_no_op_and_seeds_the_default_pool(engine):
    from sqlalchemy import select

    from leoflow.store.tables import slot_pool

    assert migrate.upgrade(engine) is False
    with engine.connect() as conn:
        pools = conn.execute(select(slot_pool.c.pool, slot_pool.c.slots)).all()
    assert [(p.pool, p.slots) for p in pools] == [("default_pool", 128)]


def test_reset_drops_and_recreates(engine):
    from sqlalchemy import func, select

    from leoflow.store.tables import variable
    from leoflow.store import variables

    from cryptography.fernet import Fernet
    from leoflow.secrets.fernet import Crypt

    with engine.begin() as conn:
        variables.put(conn, "k", "v", crypt=Crypt([Fernet.generate_key().decode()]))
    migrate.reset(engine)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(variable)).scalar() == 0
    assert migrate.is_current(engine)


def test_schema_state_tells_behind_from_ahead(engine):
    from sqlalchemy import text

    assert migrate.schema_state(engine) == ("current", HEAD)
    assert migrate.known_revisions()[-1] == HEAD and migrate.known_revisions()[0] == "0001"
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    assert migrate.schema_state(engine) == ("behind", "0001")
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999z'"))
    assert migrate.schema_state(engine) == ("ahead", "9999z")
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    assert migrate.schema_state(engine) == ("empty", None)


def test_replicas_migrating_at_once_apply_each_migration_once():
    import threading

    from leoflow.store.engine import make_engine
    from tests.services import postgres_schema_url

    with postgres_schema_url() as url:
        engines = [make_engine(url) for _ in range(3)]
        results, errors = [], []

        def run(e):
            try:
                results.append(migrate.upgrade(e))
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(e,)) for e in engines]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == [] and sorted(results) == [False, False, True]
        assert migrate.schema_state(engines[0]) == ("current", HEAD)
        for e in engines:
            e.dispose()
