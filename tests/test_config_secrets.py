"""Secrets live in the home, are made on first use, and are read from disk once per process."""

import stat

from leoflow import config


def test_a_secret_is_made_once_kept_private_and_read_once(tmp_path):
    settings = config.load(home=tmp_path / "home")
    value = settings.secret("jwt")
    path = tmp_path / "home" / "jwt.secret"
    assert path.read_text().strip() == value and len(value) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("changed-on-disk\n")
    assert settings.secret("jwt") == value  # not read again by this process
    assert config.load(home=tmp_path / "home").secret("jwt") == "changed-on-disk"  # a new process reads it


def test_a_secret_key_gives_every_replica_the_same_signing_keys(tmp_path, monkeypatch):
    from leoflow import config

    monkeypatch.setenv("LEOFLOW_SECRET_KEY", "shared-between-replicas")
    one = config.load(home=tmp_path / "a")
    two = config.load(home=tmp_path / "b")
    assert one.secret("jwt") == two.secret("jwt") and one.secret("jwt") != one.secret("jwt-execution")
    assert not (tmp_path / "a").exists() or not list((tmp_path / "a").glob("*.secret"))  # nothing in the home
    monkeypatch.setenv("LEOFLOW_SECRET_KEY", "another")
    assert config.load(home=tmp_path / "c").secret("jwt") != one.secret("jwt")
