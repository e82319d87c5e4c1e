"""The Fernet key that encrypts connection passwords/extras and variable values at rest.

Lite generates a key into the home (`fernet.key`, mode 0600) on first start; a
server takes it from `LEOFLOW_FERNET_KEY` (or Airflow's `AIRFLOW__CORE__FERNET_KEY`).
Several comma-separated keys rotate: the first encrypts, any of them decrypts.
A key that cannot read what is stored stops the start with a clear message:
running on would look like lost secrets.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError

log = logging.getLogger(__name__)

KEY_FILE = "fernet.key"


class FernetKeyError(SystemExit):
    """The key is missing, malformed or does not match the stored secrets (exits with the message)."""

    def __init__(self, message: str):
        super().__init__(f"leoflow: {message}")
        self.message = message


class Crypt:
    """Encrypts and decrypts text with one or more Fernet keys (the first one encrypts)."""

    def __init__(self, keys: list[str]):
        if not keys:
            raise FernetKeyError("no Fernet key given")
        self._keys = [k.strip().encode() for k in keys]
        for key in self._keys:  # Fernet's own rule, checked without importing cryptography (14 ms of a start)
            try:
                valid = len(base64.urlsafe_b64decode(key)) == 32
            except (binascii.Error, ValueError):
                valid = False
            if not valid:
                raise FernetKeyError("the Fernet key is malformed: it must be 32 url-safe base64-encoded bytes "
                                     "(make one with `python -c 'from cryptography.fernet import Fernet; "
                                     "print(Fernet.generate_key().decode())'`)")
        self._multi_fernet = None

    @property
    def _multi(self):
        """The keys as cryptography's MultiFernet, made when a secret is first encrypted or decrypted."""
        if self._multi_fernet is None:
            from cryptography.fernet import Fernet, MultiFernet

            self._multi_fernet = MultiFernet([Fernet(k) for k in self._keys])
        return self._multi_fernet

    def encrypt(self, value: str | None) -> str | None:
        if value is None:
            return None
        return self._multi.encrypt(value.encode()).decode()

    def decrypt(self, token: str | None) -> str | None:
        """The clear text; `InvalidToken` if no key reads it."""
        if token is None:
            return None
        return self._multi.decrypt(token.encode()).decode()

    def rotate(self, token: str) -> str:
        """The same secret re-encrypted with the first (newest) key."""
        return self._multi.rotate(token.encode()).decode()


def load(home: Path, *, mode: str, configured: str | None = None) -> tuple[Crypt, bool]:
    """(the crypt for this installation, whether its key was just generated).

    `configured` is the `fernet_key` setting (LEOFLOW_FERNET_KEY); without it lite uses
    (or makes) the key file in the home and a server refuses to start.
    """
    raw = configured
    if raw:
        return Crypt([k for k in raw.split(",") if k.strip()]), False
    if mode != "lite":
        raise FernetKeyError("no Fernet key: set LEOFLOW_FERNET_KEY (the same on every server host) so "
                             "connection passwords and variables can be encrypted at rest")
    path = home / KEY_FILE
    try:
        return Crypt([k for k in path.read_text().split(",") if k.strip()]), False
    except FileNotFoundError:
        pass
    from ..config import make_home

    make_home(home)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.urlsafe_b64encode(os.urandom(32)).decode() + "\n")  # what Fernet.generate_key() makes
    log.warning("Generated the Fernet key that encrypts connection passwords and variables: %s. Back it up "
                "with the database; without it the stored secrets cannot be read.", path)
    return Crypt([path.read_text()]), True


def check_stored(engine, crypt: Crypt, *, generated: bool, home: Path) -> None:
    """Refuse to run with a key that cannot decrypt one stored secret (a wrong or lost key)."""
    from ..store.tables import connection, variable

    probes = [
        (select(variable.c.key, variable.c.val).where(variable.c.is_encrypted.is_(True)).limit(1), "variable"),
        (select(connection.c.conn_id, connection.c.password)
         .where(connection.c.is_encrypted.is_(True), connection.c.password.is_not(None)).limit(1), "connection"),
        (select(connection.c.conn_id, connection.c.extra)
         .where(connection.c.is_extra_encrypted.is_(True), connection.c.extra.is_not(None)).limit(1), "connection"),
    ]
    with engine.connect() as conn:
        for query, kind in probes:
            try:
                row = conn.execute(query).first()
            except (OperationalError, ProgrammingError):  # not migrated yet: nothing stored
                return
            if row is None:
                continue
            from cryptography.fernet import InvalidToken

            try:
                crypt.decrypt(row[1])
            except InvalidToken:
                if generated:
                    (home / KEY_FILE).unlink(missing_ok=True)  # do not leave a key that reads nothing
                    raise FernetKeyError(
                        f"the Fernet key file {home / KEY_FILE} is missing but the database holds secrets "
                        f"encrypted with a key (e.g. {kind} {row[0]!r}): restore the key file or set "
                        f"LEOFLOW_FERNET_KEY to the key they were encrypted with") from None
                raise FernetKeyError(
                    f"the Fernet key cannot decrypt the stored secrets (e.g. {kind} {row[0]!r}): it is not the "
                    f"key they were encrypted with. Set LEOFLOW_FERNET_KEY to the old key (to rotate, give "
                    f"'new_key,old_key')") from None
