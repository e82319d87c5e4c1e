"""FAB's werkzeug password hashes (`api/fab_password_hashes.py`): hashes made by werkzeug itself, in the venv of
real Airflow 3.2.1 with the FAB provider, check against their passwords; malformed or unknown ones match nothing
and a login with them is a 401, never a 500."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from leoflow.api import fab_password_hashes as fab
from leoflow.api.auth import password_matches
from leoflow.store import users
from tests.airflow_runner.conftest import airflow_fab_python  # noqa: F401 - the fixture: Airflow 3.2.1 with FAB
from tests.api.conftest import make_client

MADE = [  # (method as given to werkzeug, salt length, password)
    ("scrypt", 16, "correct horse"),
    ("scrypt:1024:8:1", 8, "ünïcode pässwörd"),
    ("scrypt:2048:4:2", 22, ""),
    ("pbkdf2", 16, "correct horse"),
    ("pbkdf2:sha1:1000", 8, "p@ss$with:colons"),
    ("pbkdf2:sha512:2000", 12, "long " * 40),
    ("pbkdf2:sha256:260000", 16, "what FAB on werkzeug 2 wrote"),
]


@pytest.fixture(scope="module")
def werkzeug_hashes(airflow_fab_python):  # noqa: F811
    script = ("import json, sys; from werkzeug.security import generate_password_hash as g; "
              "print(json.dumps([g(pw, method=m, salt_length=n) for m, n, pw in json.loads(sys.stdin.read())]))")
    done = subprocess.run([airflow_fab_python, "-c", script], input=json.dumps(MADE), capture_output=True,
                          text=True, timeout=120, check=True)
    return json.loads(done.stdout)


def test_werkzeugs_own_hashes_check(werkzeug_hashes):
    assert werkzeug_hashes[0].startswith("scrypt:32768:8:1$")  # werkzeug's defaults, written out
    assert werkzeug_hashes[3].startswith("pbkdf2:sha256:1000000$")
    for (method, _, password), stored in zip(MADE, werkzeug_hashes):
        assert fab.matches(stored, password), method
        assert not fab.matches(stored, password + "x"), method
        assert password_matches(stored, password), method  # what the login calls
        assert len(stored) <= 256  # the user table's column


@pytest.mark.parametrize("stored, why", [
    ("sha256$salt$" + "ab" * 32, "the method 'sha256' is neither pbkdf2:... nor scrypt:..."),
    ("plain$$secret", "the salt is empty"),
    ("pbkdf2:sha256$salt$" + "ab" * 32, "pbkdf2 needs pbkdf2:DIGEST:ITERATIONS"),
    ("pbkdf2:md5:1000$salt$" + "ab" * 16, "pbkdf2 with 'md5' is not one of sha1, sha224, sha256, sha384, sha512"),
    ("pbkdf2:sha256:0$salt$ab", "pbkdf2's iteration count 0 is not between 1 and 5000000"),
    ("pbkdf2:sha256:99999999999$salt$ab", "pbkdf2's iteration count 99999999999 is not between 1 and 5000000"),
    ("pbkdf2:sha256:-5$salt$ab", "the iteration count '-5' is not a positive whole number"),
    ("scrypt:32768:8$salt$ab", "scrypt needs scrypt:N:R:P"),
    ("scrypt:1000:8:1$salt$ab", "scrypt's N must be a power of two above 1, R and P at least 1"),
    ("scrypt:1048576:8:1$salt$ab", "scrypt's costs need more than 256 MiB"),
    ("scrypt:2:1:99999999$salt$ab", "scrypt's costs need more than 256 MiB"),
    ("scrypt:16384:8:1$salt$not-hex", "the hash is not hexadecimal"),
    ("scrypt:16384:8:1$salt$", "the hash is empty"),
    ("scrypt:16384:8:1$a$b$c", "not METHOD$SALT$HASH"),
    ("$$", "the salt is empty"),
])
def test_malformed_and_unknown_hashes_say_why_and_match_nothing(stored, why):
    with pytest.raises(fab.UnknownHash) as caught:
        fab.parse(stored)
    assert str(caught.value) == why
    started = time.monotonic()
    assert not fab.matches(stored, "secret") and not password_matches(stored, "secret")
    assert time.monotonic() - started < 1.0  # refused before any key derivation


def test_a_login_with_a_broken_stored_hash_is_a_401(services, werkzeug_hashes):
    """Rows a hand edit or a broken import left: each login is refused cleanly, the others still log in."""
    broken = {"bad1": "scrypt:1048576:8:1$salt$ab", "bad2": "not hex at all", "bad3": "", "bad4": "abcd",
              "bad5": "pbkdf2:sha256:1000$salt$zz"}
    with services.engine.begin() as conn:
        for name, stored in broken.items():
            users.create_user(conn, name, "viewer", stored)
        users.create_user(conn, "good", "viewer", werkzeug_hashes[1])
    with make_client(services) as client:
        for name in broken:
            resp = client.post("/auth/token", json={"username": name, "password": "secret"})
            assert (resp.status_code, resp.json()) == (401, {"detail": "Invalid credentials"}), name
        resp = client.post("/auth/token", json={"username": "good", "password": MADE[1][2]})
        assert resp.status_code == 201
    with services.engine.connect() as conn:  # re-hashed at that login, the broken rows left as they were
        assert fab.looks_like_fab_hash(werkzeug_hashes[1]) and not fab.looks_like_fab_hash(
            users.get_user(conn, "good").password_hash)
        assert {n: users.get_user(conn, n).password_hash for n in broken} == broken
