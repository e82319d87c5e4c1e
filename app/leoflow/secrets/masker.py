"""Hiding secret values: by field name in API bodies, by value in task logs.

Names: a field, variable key or extra key containing one of Airflow's sensitive
words (`password`, `secret`, `token`, ...) has its value shown as `***`.
Values: a task that reads a connection password or a sensitive variable registers
the value here (`mask_secret`); every log line the task writes then has it replaced
by `***` (`redact_record`, called by the task log writer).
"""

from __future__ import annotations

import re
import threading

MASK = "***"

# Airflow 3.2's default `sensitive_var_conn_names`: a name containing any of these is sensitive.
SENSITIVE_WORDS = frozenset({
    "access_key", "access_token", "api_key", "apikey", "authorization", "connection_string", "passphrase",
    "passwd", "password", "private_key", "proxy", "proxy_password", "proxies", "secret", "token",
    "keyfile_dict", "service_account",
})
_MIN_LENGTH = 5  # shorter values would mask ordinary words everywhere
_NEVER_MASK = {"airflow", "leoflow"}


def is_sensitive(name) -> bool:
    if not isinstance(name, str):
        return False
    low = name.lower()
    return any(word in low for word in SENSITIVE_WORDS)


def redact(value, name=None):
    """`value` with everything under a sensitive name (at any depth) replaced by `***`."""
    if name is not None and is_sensitive(name) and value is not None:
        return MASK
    if isinstance(value, dict):
        return {k: redact(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def merge(new, old, name=None):
    """`new` with every `***` under a sensitive name replaced by the `old` value it hides.

    Forms that show a secret as `***` send it back unchanged; saving them must keep the secret.
    """
    if isinstance(new, dict) and isinstance(old, dict):
        return {k: merge(v, old.get(k), k) if k in old else v for k, v in new.items()}
    if new == MASK and name is not None and is_sensitive(name) and old is not None:
        return old
    return new


class _Registry:
    """The secret values this process has seen, as one alternation pattern."""

    def __init__(self):
        self._values: set[str] = set()
        self._pattern: re.Pattern | None = None
        self._lock = threading.Lock()

    def add(self, value: str) -> None:
        value = value.strip()
        if len(value) < _MIN_LENGTH or value.lower() in _NEVER_MASK or value in self._values:
            return
        with self._lock:
            self._values.add(value)
            # Longest first, so a secret that contains another is masked whole.
            alternatives = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in alternatives))

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._pattern = None

    def sub(self, text: str) -> str:
        pattern = self._pattern
        return pattern.sub(MASK, text) if pattern is not None else text

    def __bool__(self) -> bool:
        return self._pattern is not None


_registry = _Registry()


def mask_secret(value, name: str | None = None) -> None:
    """Register a secret (a string, or the sensitive items of a dict) to be masked in this process' logs."""
    if value is None:
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, (dict, list)):
                mask_secret(v, k)
            elif is_sensitive(k) or (name is not None and is_sensitive(name)):
                mask_secret(v)
        return
    if isinstance(value, list):
        for v in value:
            mask_secret(v, name)
        return
    if name is not None and not is_sensitive(name):
        return
    _registry.add(str(value))


def mask_connection(data: dict | None) -> None:
    """What a task must not print of a connection it read: the password and sensitive extra keys."""
    if not data:
        return
    mask_secret(data.get("password"))
    extra = data.get("extra")
    if isinstance(extra, str):
        import json

        try:
            extra = json.loads(extra)
        except ValueError:
            return
    if isinstance(extra, dict):
        mask_secret(extra)


def mask_variable(key: str, value) -> None:
    if value is not None and is_sensitive(key):
        mask_secret(str(value))


def redact_text(text: str) -> str:
    return _registry.sub(text)


def redact_record(record: dict) -> dict:
    """A log record with registered secrets masked in its text fields (the record itself if none are)."""
    if not _registry:
        return record
    return {k: _redact_any(v) for k, v in record.items()}


def _redact_any(value):
    if isinstance(value, str):
        return _registry.sub(value)
    if isinstance(value, dict):
        return {k: _redact_any(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_any(v) for v in value]
    return value


def reset() -> None:
    """Forget every registered secret (tests; a fork server child starting a new task)."""
    _registry.clear()
