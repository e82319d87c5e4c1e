"""slot_pool: the default pool every task uses unless it names another."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Engine

from .tables import slot_pool

DEFAULT_POOL = "default_pool"
DEFAULT_POOL_SLOTS = 128


def ensure_default_pool(engine: Engine) -> None:
    with engine.begin() as conn:
        if conn.execute(select(slot_pool.c.id).where(slot_pool.c.pool == DEFAULT_POOL)).first() is None:
            conn.execute(
                slot_pool.insert().values(
                    pool=DEFAULT_POOL, slots=DEFAULT_POOL_SLOTS, description="Default pool", include_deferred=False
                )
            )


def slots_by_pool(conn) -> dict[str, int]:
    return {row.pool: row.slots for row in conn.execute(select(slot_pool.c.pool, slot_pool.c.slots))}


def slots_in_use(conn) -> dict[str, dict[str, int]]:
    """pool -> {state: pool slots held by task instances in that state}, for the states pools count."""
    from sqlalchemy import func

    from .tables import task_instance

    out: dict[str, dict[str, int]] = {}
    rows = conn.execute(
        select(task_instance.c.pool, task_instance.c.state, func.sum(task_instance.c.pool_slots))
        .where(task_instance.c.state.in_(("running", "queued", "scheduled", "deferred")))
        .group_by(task_instance.c.pool, task_instance.c.state)
    )
    for pool, state, used in rows:
        out.setdefault(pool, {})[state] = int(used or 0)
    return out
