"""connection: how tasks reach outside systems; password and extra encrypted at rest."""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from .tables import connection

FIELDS = ("conn_type", "description", "host", "schema", "login", "password", "port", "extra")


def get(conn: Connection, conn_id: str):
    """The raw row (password and extra still encrypted); use `clear` for readable values."""
    return conn.execute(select(connection).where(connection.c.conn_id == conn_id)).first()


def clear(row, crypt) -> dict:
    """The row as a dict with password and extra decrypted."""
    data = {"conn_id": row.conn_id, **{f: getattr(row, f) for f in FIELDS}}
    if row.is_encrypted and data["password"] is not None:
        data["password"] = crypt.decrypt(data["password"])
    if row.is_extra_encrypted and data["extra"] is not None:
        data["extra"] = crypt.decrypt(data["extra"])
    return data


def _encrypted(values: dict, crypt) -> dict:
    out = dict(values)
    if "password" in out:
        out["password"] = crypt.encrypt(out["password"])
        out["is_encrypted"] = out["password"] is not None
    if "extra" in out:
        out["extra"] = crypt.encrypt(out["extra"])
        out["is_extra_encrypted"] = out["extra"] is not None
    return out


def insert(conn: Connection, conn_id: str, values: dict, *, crypt) -> None:
    conn.execute(connection.insert().values(conn_id=conn_id, **_encrypted(values, crypt)))


def update_(conn: Connection, conn_id: str, values: dict, *, crypt) -> None:
    """Set the given fields (clear text in, encrypted in the row)."""
    if values:
        conn.execute(update(connection).where(connection.c.conn_id == conn_id).values(**_encrypted(values, crypt)))


def remove(conn: Connection, conn_id: str) -> bool:
    return conn.execute(delete(connection).where(connection.c.conn_id == conn_id)).rowcount > 0


def rotate(conn: Connection, crypt) -> int:
    """Re-encrypt every password and extra with the newest key; how many rows changed."""
    count = 0
    for row in conn.execute(select(connection)).all():
        values = {}
        for field, flag in (("password", "is_encrypted"), ("extra", "is_extra_encrypted")):
            raw = getattr(row, field)
            if raw is not None:
                values[field] = crypt.rotate(raw) if getattr(row, flag) else crypt.encrypt(raw)
                values[flag] = True
        if values:
            conn.execute(update(connection).where(connection.c.id == row.id).values(**values))
            count += 1
    return count
