"""Users and tokens, the way Airflow's simple auth manager does them.

`POST /auth/token` trades a username and password for a JWT; every `/api/v2`
request then carries it as `Authorization: Bearer ...` or in the `_token`
cookie (what the UI uses). Lite has one user, `admin`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import secrets
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl

import jwt

from .errors import HTTPError, ValidationFailed, invalid
from .validate import json_body

ADMIN = "admin"
AUDIENCE = "apache-airflow"  # Airflow's [api_auth] jwt_audience; keeps task (execution) tokens out
TOKEN_LIFETIME = dt.timedelta(hours=24)  # Airflow's [api_auth] jwt_expiration_time default
COOKIE = "_token"
PASSWORD_FILE = "admin-password.txt"


@dataclass(frozen=True)
class User:
    username: str
    role: str


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
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(12)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    os.chmod(path, 0o600)
    return password


def hash_password(password: str, salt: bytes | None = None) -> bytes:
    """salt + scrypt(password): what we keep in memory instead of the password itself."""
    salt = salt or os.urandom(16)
    return salt + hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)


def password_matches(stored: bytes, password: str) -> bool:
    return hmac.compare_digest(stored, hash_password(password, stored[:16]))


class Authenticator:
    """Checks passwords and issues / verifies tokens for one installation."""

    def __init__(self, settings):
        self.settings = settings
        # Only the hash stays in memory; the plain text lives in the user's own 0600 file.
        self.users = {ADMIN: (hash_password(ensure_admin_password(settings)), "admin")}

    @property
    def key(self) -> str:
        return self.settings.secret("jwt")

    def login(self, username: str, password: str) -> User | None:
        found = self.users.get(username)
        if found is None or not password_matches(found[0], password):
            return None
        return User(username, found[1])

    def issue(self, user: User) -> str:
        now = dt.datetime.now(dt.UTC)
        claims = {
            "jti": uuid.uuid4().hex,
            "aud": AUDIENCE,
            "sub": user.username,
            "role": user.role,
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME,
        }
        return jwt.encode(claims, self.key, algorithm="HS256")

    def verify(self, token: str | None) -> User:
        if not token:
            raise HTTPError(401, "Not authenticated")
        try:
            claims = jwt.decode(token, self.key, algorithms=["HS256"], audience=AUDIENCE,
                                options={"require": ["exp", "iat", "sub"]})
        except jwt.ExpiredSignatureError:
            raise HTTPError(401, "Token Expired")
        except jwt.InvalidTokenError:
            raise HTTPError(403, "Invalid JWT token")
        if claims["sub"] not in self.users:
            raise HTTPError(403, "Invalid JWT token")
        return User(claims["sub"], claims.get("role") or "viewer")

    def authenticate(self, request) -> User:
        """The user of a request, from the bearer header or the UI's cookie."""
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else None
        return self.verify(token or request.cookies.get(COOKIE))


def create_token(services, request):
    """POST /auth/token: JSON or form `{username, password}` -> 201 `{"access_token": ...}`."""
    auth: Authenticator = request.state.auth
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
    user = auth.login(data["username"], data["password"])
    if user is None:
        raise HTTPError(401, "Invalid credentials")
    return {"access_token": auth.issue(user)}, 201
