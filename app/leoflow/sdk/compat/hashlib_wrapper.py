"""`airflow.utils.hashlib_wrapper`: MD5 for names and fingerprints, never for security (so it works on
FIPS machines, where plain `hashlib.md5()` is refused)."""

from __future__ import annotations

import hashlib


def md5(data: bytes = b"", /):
    return hashlib.md5(data, usedforsecurity=False)
