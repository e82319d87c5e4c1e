"""Users and tokens, the way Airflow's simple auth manager does them.

Users live in the database (`leoflow_user`), so every lite or server process on it
knows the same ones; `leoflow users ...` manages them. Users named in config
(`simple_auth_manager_users = "name:role,..."`, as Airflow's `[core]
simple_auth_manager_users`; default `admin:admin`) are created on first start and
keep the role config gives them. Lite generates their passwords into the home
(admin's in `admin-password.txt`, the others' in `user-passwords.json`, both 0600)
unless LEOFLOW_ADMIN_PASSWORD sets admin's; a server takes LEOFLOW_ADMIN_PASSWORD
once, or generates one and logs it once. Only scrypt hashes are stored; a user imported from Airflow keeps
FAB's werkzeug hash until their first login, which stores Leoflow's own instead (`fab_password_hashes.py`).

`POST /auth/token` trades a username and password for a JWT; every `/api/v2` and
`/ui` request then carries it as `Authorization: Bearer ...` or in the `_token`
cookie (what the UI uses). Logging out revokes the token's `jti`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

import jwt
import sqlalchemy as sa

from .errors import HTTPError, ValidationFailed, invalid
from .validate import json_body

ADMIN = "admin"
ROLES = ("viewer", "user", "op", "admin")  # each role may do everything the ones before it may
AUDIENCE = "apache-airflow"  # Airflow's [api_auth] jwt_audience; keeps task (execution) tokens out
TOKEN_LIFETIME = dt.timedelta(hours=24)  # Airflow's [api_auth] jwt_expiration_time default
CLI_TOKEN_LIFETIME = dt.timedelta(hours=1)  # Airflow's [api_auth] jwt_cli_expiration_time default
COOKIE = "_token"
PASSWORD_FILE = "admin-password.txt"
USER_PASSWORDS_FILE = "user-passwords.json"
USERS_SETTING = "simple_auth_manager_users"
USERS_ENV = ("LEOFLOW_SIMPLE_AUTH_MANAGER_USERS", "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS")
USERS_CACHE_SECONDS = 2.0  # a user added, removed or re-roled by another process counts this soon
log = logging.getLogger("leoflow.auth")
AUDIT_USERNAME_LENGTH = 256  # characters of a submitted username kept in the audit log (its column holds 500)


@dataclass(frozen=True)
class User:
    username: str
    role: str
    # Set for a user read from a token: which one, until when, and whether it came as the UI's cookie.
    jti: str | None = field(default=None, compare=False)
    exp: dt.datetime | None = field(default=None, compare=False)
    from_cookie: bool = field(default=False, compare=False)

    def may(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def ensure_admin_password(settings) -> str:
    """The admin password: LEOFLOW_ADMIN_PASSWORD, else the one saved in the home (made on first use)."""
    if settings.admin_password:
        return settings.admin_password
    path = Path(settings.home) / PASSWORD_FILE
    try:
        saved = path.read_text().strip()
        if saved:
            return saved
    except FileNotFoundError:
        pass
    password = secrets.token_urlsafe(12)
    _write_private(path, password + "\n")
    return password


def configured_users(settings) -> dict[str, str]:
    """name -> role from `simple_auth_manager_users` (env wins over the config file)."""
    raw = next((os.environ[v] for v in USERS_ENV if os.environ.get(v)), None)
    if raw is None:
        raw = settings.extra.get(USERS_SETTING) or f"{ADMIN}:admin"
    users: dict[str, str] = {}
    for item in str(raw).split(","):
        if not item.strip():
            continue
        name, sep, role = item.strip().partition(":")
        role = role.strip().lower()
        if not sep or not name.strip() or role not in ROLES:
            raise SystemExit(f"leoflow: {USERS_SETTING}: {item.strip()!r} is not 'name:role' with role one of "
                             f"{', '.join(ROLES)}")
        users[name.strip()] = role
    if not users:
        raise SystemExit(f"leoflow: {USERS_SETTING} names no user")
    return users


def user_passwords(settings, names) -> dict[str, str]:
    """Passwords of the non-admin users, generated into the home's password file when missing."""
    path = Path(settings.home) / USER_PASSWORDS_FILE
    try:
        saved = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        saved = {}
    missing = [n for n in names if not saved.get(n)]
    if missing:
        saved.update({n: secrets.token_urlsafe(12) for n in missing})
        _write_private(path, json.dumps(saved, indent=2, sort_keys=True) + "\n")
    return {n: saved[n] for n in names}


def hash_password(password: str, salt: bytes | None = None) -> bytes:
    """salt + scrypt(password): what is stored instead of the password itself."""
    salt = salt or os.urandom(16)
    return salt + hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)


def password_matches(stored: str, password: str) -> bool:
    """`stored` as the user table keeps it: hex of salt + scrypt, or a FAB hash copied from Airflow.
    Anything else (a hand-edited row) matches no password."""
    from . import fab_password_hashes

    if fab_password_hashes.looks_like_fab_hash(stored):
        return fab_password_hashes.matches(stored, password)
    try:
        raw = bytes.fromhex(stored)
    except ValueError:
        return False
    return len(raw) > 16 and hmac.compare_digest(raw, hash_password(password, raw[:16]))


def is_own_hash(stored: str) -> bool:
    """Written by Leoflow (not carried over from Airflow): a login leaves it as it is."""
    from . import fab_password_hashes

    return not fab_password_hashes.looks_like_fab_hash(stored)


def bootstrap_users(settings, engine, *, server: bool = False) -> None:
    """Create the users config names that the database does not have yet, and give them config's role.

    Lite keeps the passwords it generates in the home's 0600 files and applies LEOFLOW_ADMIN_PASSWORD
    on every start; a server takes LEOFLOW_ADMIN_PASSWORD only when it creates the admin (afterwards
    `leoflow users reset-password` changes it) and logs a password it had to generate, once.
    """
    from ..store import users

    roles = configured_users(settings)
    with engine.begin() as conn:
        existing = {row.username: row for row in users.all_users(conn) if row.username in roles}
        missing = [n for n in roles if n not in existing]
        passwords: dict[str, str] = {}
        if missing and not server:
            passwords = user_passwords(settings, [n for n in missing if n != ADMIN])
            if ADMIN in missing:
                passwords[ADMIN] = ensure_admin_password(settings)
        for name in missing:
            generated = False
            password = passwords.get(name)
            if password is None:
                password = settings.admin_password if name == ADMIN else None
                if password is None:
                    password, generated = secrets.token_urlsafe(12), True
            if users.create_user(conn, name, roles[name], hash_password(password).hex()) and generated:
                log.warning("Created user %s (role %s) with the generated password %s; change it with "
                            "`leoflow users reset-password --username %s`", name, roles[name], password, name)
        for name, row in existing.items():
            changes = {}
            if row.role != roles[name]:
                changes["role"] = roles[name]
            if (name == ADMIN and not server and settings.admin_password
                    and not password_matches(row.password_hash, settings.admin_password)):
                changes["password_hash"] = hash_password(settings.admin_password).hex()
            if changes:
                users.update_user(conn, name, **changes)


class Authenticator:
    """Checks passwords and issues, verifies and revokes tokens for one installation."""

    def __init__(self, settings, engine, *, server: bool = False):
        self.settings = settings
        self.engine = engine  # users and revoked tokens live there
        bootstrap_users(settings, engine, server=server)
        self._users: dict[str, tuple[str, str]] = {}
        self._users_read = float("-inf")
        self._revoked: set[str] = set()
        self._lock = threading.Lock()

    @property
    def users(self) -> dict[str, tuple[str, str]]:
        """name -> (password hash, role), read again from the database every USERS_CACHE_SECONDS."""
        if time.monotonic() - self._users_read > USERS_CACHE_SECONDS:
            from sqlalchemy.exc import SQLAlchemyError

            from ..store import users

            try:
                with self.engine.connect() as conn:
                    rows = users.all_users(conn)
            except SQLAlchemyError:
                return self._users  # the database is away: the users known a moment ago still log in
            self._users = {r.username: (r.password_hash, r.role) for r in rows}
            self._users_read = time.monotonic()
        return self._users

    @property
    def key(self) -> str:
        return self.settings.secret("jwt")

    def login(self, username: str, password: str) -> User | None:
        found = self.users.get(username)
        if found is None or found[1] not in ROLES:
            hash_password(password)  # same time spent as for a known name: no user enumeration by timing
            return None
        if not password_matches(found[0], password):
            return None
        if not is_own_hash(found[0]):
            self._rehash(username, found[0], password)
        return User(username, found[1])

    def _rehash(self, username: str, old: str, password: str) -> None:
        """A user imported from Airflow has just logged in with FAB's hash: keep Leoflow's own from now on.
        Only if the row still holds that hash (another process may have re-hashed it, or reset the password)."""
        from sqlalchemy.exc import SQLAlchemyError

        from ..store import users

        new = hash_password(password).hex()
        try:
            with self.engine.begin() as conn:
                replaced = users.replace_password_hash(conn, username, old, new)
        except SQLAlchemyError:
            log.warning("Could not store a new password hash for %s; it keeps Airflow's", username, exc_info=True)
            return
        if replaced:
            with self._lock:
                if self._users.get(username, (None,))[0] == old:
                    self._users[username] = (new, self._users[username][1])

    def issue(self, user: User, lifetime: dt.timedelta = TOKEN_LIFETIME) -> str:
        now = dt.datetime.now(dt.UTC)
        claims = {
            "jti": uuid.uuid4().hex,
            "aud": AUDIENCE,
            "sub": user.username,
            "role": user.role,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
        }
        return jwt.encode(claims, self.key, algorithm="HS256")

    def claims(self, token: str) -> dict:
        try:
            return jwt.decode(token, self.key, algorithms=["HS256"], audience=AUDIENCE,
                              options={"require": ["exp", "iat", "sub"]})
        except jwt.ExpiredSignatureError:
            raise HTTPError(401, "Token Expired")
        except jwt.InvalidTokenError:
            raise HTTPError(403, "Invalid JWT token")

    def verify(self, token: str | None, *, from_cookie: bool = False) -> User:
        if not token:
            raise HTTPError(401, "Not authenticated")
        claims = self.claims(token)
        known = self.users.get(claims["sub"])
        if known is None or known[1] not in ROLES:
            raise HTTPError(403, "Invalid JWT token")
        jti = claims.get("jti")
        if jti and self.is_revoked(jti):
            raise HTTPError(401, "Token has been revoked")
        # The role is today's, not the one written in the token when it was issued.
        return User(claims["sub"], known[1], jti=jti,
                    exp=dt.datetime.fromtimestamp(claims["exp"], dt.UTC), from_cookie=from_cookie)

    def token_of(self, request) -> tuple[str | None, bool]:
        """The request's token and whether it came as the cookie (Bearer wins over the cookie)."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip(), False
        return request.cookies.get(COOKIE), True

    def authenticate(self, request) -> User:
        """The user of a request, from the bearer header or the UI's cookie."""
        token, from_cookie = self.token_of(request)
        return self.verify(token, from_cookie=from_cookie)

    def is_revoked(self, jti: str) -> bool:
        with self._lock:
            if jti in self._revoked:
                return True
        from ..store.tables import revoked_token

        with self.engine.connect() as conn:
            found = conn.execute(sa.select(revoked_token.c.jti).where(revoked_token.c.jti == jti)).first()
        if found:
            with self._lock:
                self._revoked.add(jti)
        return bool(found)

    def revoke(self, token: str) -> User | None:
        """Log a token out for good (kept until it would have expired anyway). None if it was not valid."""
        try:
            user = self.verify(token)
        except HTTPError:
            return None
        if user.jti is None:
            return user
        with self._lock:
            self._revoked.add(user.jti)
        from ..store.tables import revoked_token
        from ..store.types import utcnow

        with self.engine.begin() as conn:
            conn.execute(revoked_token.delete().where(revoked_token.c.exp < utcnow()))
            if not conn.execute(sa.select(revoked_token.c.jti).where(revoked_token.c.jti == user.jti)).first():
                conn.execute(revoked_token.insert().values(jti=user.jti, exp=user.exp))
        return user

    def needs_refresh(self, user: User) -> bool:
        """A UI session past half its lifetime gets a fresh cookie (Airflow's JWT refresh middleware)."""
        if not user.from_cookie or user.exp is None:
            return False
        return user.exp - dt.datetime.now(dt.UTC) < TOKEN_LIFETIME / 2


def read_credentials(request) -> dict:
    """`{username, password}` from a JSON or form body, or a 422 naming the field."""
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if ctype == "application/x-www-form-urlencoded":
        data = dict(parse_qsl(request.state.body.decode("utf-8", "replace"), keep_blank_values=True))
    elif ctype in ("application/json", ""):
        data = json_body(request)
    else:
        raise HTTPError(415, "Only application/json or application/x-www-form-urlencoded is supported")
    if not isinstance(data, dict):
        raise ValidationFailed([invalid(["body"], "Input should be a valid dictionary or object to extract "
                                                  "fields from", data, "model_attributes_type")])
    errors = [invalid(["body", f], "Field required", data, "missing") for f in ("username", "password")
              if f not in data]
    errors += [invalid(["body", f], "Input should be a valid string", data[f], "string_type")
               for f in ("username", "password") if f in data and not isinstance(data[f], str)]
    errors += [invalid(["body", f], "Extra inputs are not permitted", v, "extra_forbidden")
               for f, v in data.items() if f not in ("username", "password")]
    if errors:
        raise ValidationFailed(errors)
    return data


def record_login(services, event: str, username: str, how: str) -> None:
    """The audit trail of logins and logouts (never the password). A failed login's username is whatever
    the client sent: only its first AUDIT_USERNAME_LENGTH characters are kept, and the extra says so."""
    from ..store import audit

    extra = {"auth": how}
    if len(username) > AUDIT_USERNAME_LENGTH:
        extra["username_length"] = len(username)
        username = username[:AUDIT_USERNAME_LENGTH]
    with services.engine.begin() as conn:
        audit.record(conn, event, owner=username, extra=extra)


def create_token(services, request):
    """POST /auth/token: JSON or form `{username, password}` -> 201 `{"access_token": ...}`."""
    auth: Authenticator = request.state.auth
    data = read_credentials(request)
    user = auth.login(data["username"], data["password"])
    if user is None:
        record_login(services, "login_failed", data["username"], "token")
        raise HTTPError(401, "Invalid credentials")
    record_login(services, "login", user.username, "token")
    return {"access_token": auth.issue(user)}, 201
