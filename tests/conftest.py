"""Fixtures shared by every part's tests: a database on SQLite and on Postgres, the bus on fakeredis and Redis."""

from __future__ import annotations

import pytest

from tests.services import postgres_schema_url, redis_url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request, tmp_path):
    """Every store test runs on both databases."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'leoflow.db'}"
    else:
        with postgres_schema_url() as url:
            yield url


@pytest.fixture
def engine(database_url):
    from leoflow.store import migrate
    from leoflow.store.engine import make_engine

    eng = make_engine(database_url)
    migrate.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.fixture(params=["fakeredis", "redis"])
def bus(request):
    from leoflow.bus import connect

    if request.param == "fakeredis":
        yield connect(None)
    else:
        with redis_url() as url:
            yield connect(url)
