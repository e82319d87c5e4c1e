"""The machine's real Postgres and Redis for tests: a private schema / database number per use.

Tests that need them skip when they are unreachable, except under
LEOFLOW_REQUIRE_SERVICES=1 (CI), where an unreachable service is a failure.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

import pytest

POSTGRES_URL = os.environ.get("LEOFLOW_TEST_POSTGRES_URL", "")
REDIS_URL = os.environ.get("LEOFLOW_TEST_REDIS_URL", "")
REQUIRED = os.environ.get("LEOFLOW_REQUIRE_SERVICES") == "1"


def _unavailable(what: str, why: str):
    if REQUIRED:
        pytest.fail(f"{what} is required (LEOFLOW_REQUIRE_SERVICES=1) but unavailable: {why}")
    pytest.skip(f"{what} unavailable: {why}")


@contextmanager
def postgres_schema_url():
    """A database URL whose search_path is a fresh schema, dropped afterwards."""
    if not POSTGRES_URL:
        _unavailable("Postgres", "LEOFLOW_TEST_POSTGRES_URL is not set")
    from sqlalchemy import create_engine, text

    from leoflow.store.engine import normalize_url

    base = normalize_url(POSTGRES_URL)
    schema = "leoflow_t_" + uuid.uuid4().hex[:12]
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # noqa: BLE001 - any connection problem means unavailable
        admin.dispose()
        _unavailable("Postgres", str(exc).splitlines()[0])
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def redis_url():
    """A Redis URL on a database number nobody else in the suite uses at the same time, flushed after."""
    if not REDIS_URL:
        _unavailable("Redis", "LEOFLOW_TEST_REDIS_URL is not set")
    import redis

    base = REDIS_URL.rsplit("/", 1)[0] if REDIS_URL.count("/") > 2 else REDIS_URL
    db = 1 + (os.getpid() % 14)
    url = f"{base}/{db}"
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except Exception as exc:  # noqa: BLE001
        _unavailable("Redis", str(exc))
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()
