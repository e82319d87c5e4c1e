"""variable: key/value settings DAGs read at run time, values encrypted at rest.

Every function that reads or writes a value takes the installation's `crypt`
(`secrets.fernet.Crypt`); rows written before encryption (`is_encrypted` false)
are read as they are and encrypted on their next write.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from .tables import variable


def get(conn: Connection, key: str):
    """The raw row (value still encrypted); use `value_of` for the clear text."""
    return conn.execute(select(variable).where(variable.c.key == key)).first()


def value_of(row, crypt) -> str | None:
    if row is None or row.val is None:
        return None
    return crypt.decrypt(row.val) if row.is_encrypted else row.val


def put(conn: Connection, key: str, value: str, description: str | None = None, *, crypt,
        keep_description: bool = False) -> bool:
    """Create or overwrite; True if the variable is new."""
    values = {"val": crypt.encrypt(value), "is_encrypted": True}
    if not keep_description:
        values["description"] = description
    if get(conn, key) is None:
        conn.execute(variable.insert().values(key=key, **{"description": description, **values}))
        return True
    conn.execute(update(variable).where(variable.c.key == key).values(**values))
    return False


def remove(conn: Connection, key: str) -> bool:
    return conn.execute(delete(variable).where(variable.c.key == key)).rowcount > 0


def rotate(conn: Connection, crypt) -> int:
    """Re-encrypt every value with the newest key; how many rows changed."""
    count = 0
    for row in conn.execute(select(variable.c.id, variable.c.val, variable.c.is_encrypted)).all():
        if row.val is None:
            continue
        new = crypt.rotate(row.val) if row.is_encrypted else crypt.encrypt(row.val)
        conn.execute(update(variable).where(variable.c.id == row.id).values(val=new, is_encrypted=True))
        count += 1
    return count
