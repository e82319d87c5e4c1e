import os
import stat

import jwt
from leoflow import config
from leoflow.api import auth

from .conftest import PASSWORD


def test_api_needs_a_token(anon):
    resp = anon.get("/api/v2/dags")
    assert resp.status_code == 401
    assert resp.json() == {"detail": "Not authenticated"}


def test_health_and_version_are_public(anon):
    assert anon.get("/api/v2/monitor/health").status_code == 200
    assert anon.get("/api/v2/version").json() == {"version": "3.2.1", "git_version": None}


def test_token_flow_json_and_form(anon, services):
    resp = anon.post("/auth/token", json={"username": "admin", "password": PASSWORD})
    assert resp.status_code == 201
    token = resp.json()["access_token"]
    assert list(resp.json()) == ["access_token"]
    claims = jwt.decode(token, services.settings.secret("jwt"), algorithms=["HS256"], audience="apache-airflow")
    assert claims["sub"] == "admin" and claims["role"] == "admin" and claims["exp"] > claims["iat"]
    assert anon.get("/api/v2/dags", headers={"Authorization": f"Bearer {token}"}).status_code == 200

    form = anon.post("/auth/token", data={"username": "admin", "password": PASSWORD})
    assert form.status_code == 201
    # The UI sends the token as the `_token` cookie.
    anon.cookies.set("_token", form.json()["access_token"])
    assert anon.get("/api/v2/dags").status_code == 200


def test_wrong_credentials(anon):
    resp = anon.post("/auth/token", json={"username": "admin", "password": "nope"})
    assert resp.status_code == 401
    assert resp.json() == {"detail": "Invalid credentials"}
    resp = anon.post("/auth/token", json={"username": "admin"})
    assert resp.status_code == 422
    assert resp.json()["detail"][0]["loc"] == ["body", "password"]


def test_bad_and_foreign_tokens_are_refused(anon, services):
    assert anon.get("/api/v2/dags", headers={"Authorization": "Bearer junk"}).status_code == 403
    # A task's execution-API token (no audience, sub = TI id) is not a user token.
    task_token = jwt.encode({"sub": "0192-ti", "exp": 2**33, "iat": 1}, services.settings.secret("jwt"),
                            algorithm="HS256")
    assert anon.get("/api/v2/dags", headers={"Authorization": f"Bearer {task_token}"}).status_code == 403
    expired = jwt.encode({"sub": "admin", "role": "admin", "aud": "apache-airflow", "exp": 10, "iat": 1},
                         services.settings.secret("jwt"), algorithm="HS256")
    resp = anon.get("/api/v2/dags", headers={"Authorization": f"Bearer {expired}"})
    assert resp.status_code == 401 and resp.json() == {"detail": "Token Expired"}


def test_admin_password_generated_once_and_private(tmp_path, monkeypatch):
    monkeypatch.delenv("LEOFLOW_ADMIN_PASSWORD", raising=False)
    settings = config.load(home=tmp_path, dags_folder=tmp_path / "dags")
    settings.admin_password = None
    first = auth.ensure_admin_password(settings)
    assert first and auth.ensure_admin_password(settings) == first
    path = tmp_path / "admin-password.txt"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    settings.admin_password = "from-env"
    assert auth.ensure_admin_password(settings) == "from-env"


def test_password_hash_roundtrip():
    stored = auth.hash_password("pw")
    assert b"pw" not in stored
    assert auth.password_matches(stored, "pw") and not auth.password_matches(stored, "pW")
