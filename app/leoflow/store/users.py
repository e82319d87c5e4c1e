"""Login users: one row per user, shared by every lite or server process on the database."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from .tables import user
from .types import utcnow


def all_users(conn) -> list:
    return conn.execute(select(user).order_by(user.c.username)).all()


def get_user(conn, username: str):
    return conn.execute(select(user).where(user.c.username == username)).first()


def create_user(conn, username: str, role: str, password_hash: str, *, first_name=None, last_name=None,
                email=None) -> bool:
    """False when the name is taken (by another process at the same moment, too)."""
    now = utcnow()
    try:
        with conn.begin_nested():
            conn.execute(user.insert().values(username=username, role=role, password_hash=password_hash,
                                              first_name=first_name, last_name=last_name, email=email,
                                              created_at=now, changed_at=now))
    except IntegrityError:
        return False
    return True


def update_user(conn, username: str, **values) -> bool:
    result = conn.execute(update(user).where(user.c.username == username).values(changed_at=utcnow(), **values))
    return result.rowcount > 0


def replace_password_hash(conn, username: str, old: str, new: str) -> bool:
    """Compare-and-set: only while the row still holds `old` (False when another process changed it)."""
    result = conn.execute(update(user).where(user.c.username == username).where(user.c.password_hash == old)
                          .values(password_hash=new, changed_at=utcnow()))
    return result.rowcount > 0


def delete_user(conn, username: str) -> bool:
    return conn.execute(delete(user).where(user.c.username == username)).rowcount > 0
