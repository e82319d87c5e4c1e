"""A task's token is verified once per signature, but its time limits hold on every use."""

import time

import jwt
import pytest

from leoflow.execution_api import tokens


def test_a_cached_token_still_expires(monkeypatch):
    now = time.time()
    token = jwt.encode({"sub": "ti-1", "aud": tokens.AUDIENCE, "nbf": int(now), "exp": int(now) + 60},
                       "secret", algorithm=tokens.ALGORITHM)
    assert tokens.verify("secret", token)["sub"] == "ti-1"
    assert tokens.verify("secret", token)["sub"] == "ti-1"  # from the cache
    monkeypatch.setattr(tokens.time, "time", lambda: now + 3600)
    with pytest.raises(jwt.ExpiredSignatureError):
        tokens.verify("secret", token)


def test_a_cached_token_is_not_valid_under_another_secret():
    token = tokens.issue("secret", "ti-2")
    assert tokens.verify("secret", token)["sub"] == "ti-2"
    with pytest.raises(jwt.InvalidSignatureError):
        tokens.verify("other", token)


def test_callers_cannot_change_the_cached_claims():
    token = tokens.issue("secret", "ti-3")
    tokens.verify("secret", token)["sub"] = "someone else"
    assert tokens.verify("secret", token)["sub"] == "ti-3"
