"""A brand-new lite home gets its schema in one step: the same tables, columns, keys and indexes as the migrations."""

from sqlalchemy import inspect, select

from leoflow.store import migrate
from leoflow.store.engine import make_engine
from leoflow.store.tables import slot_pool


def shape(engine):
    with engine.connect() as conn:
        insp = inspect(conn)
        tables = {}
        for name in sorted(insp.get_table_names()):
            tables[name] = {
                "columns": [(c["name"], c["nullable"]) for c in insp.get_columns(name)],
                "pk": sorted(insp.get_pk_constraint(name)["constrained_columns"]),
                "fks": sorted((tuple(f["constrained_columns"]), f["referred_table"]) for f in insp.get_foreign_keys(name)),
                "indexes": sorted((tuple(i["column_names"]), bool(i["unique"])) for i in insp.get_indexes(name)),
                "unique": sorted(tuple(u["column_names"]) for u in insp.get_unique_constraints(name)),
            }
        return tables


def test_fresh_schema_equals_the_migrated_one(tmp_path):
    migrated = make_engine(f"sqlite:///{tmp_path / 'migrated.db'}")
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert migrate.upgrade(migrated) is True
    assert migrate.create_fresh(fresh) is True
    assert shape(fresh) == shape(migrated)
    assert migrate.is_current(fresh) and migrate.upgrade(fresh) is False
    with fresh.connect() as conn:
        assert conn.execute(select(slot_pool.c.pool)).scalars().all() == ["default_pool"]


def test_a_database_with_tables_is_left_to_the_migrations(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.upgrade(engine)
    assert migrate.create_fresh(engine) is False
