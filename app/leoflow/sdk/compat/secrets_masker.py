"""`airflow.sdk.log` / `...secrets_masker`: mask a secret in every log line of the task."""

from __future__ import annotations

from leoflow.secrets.masker import is_sensitive, mask_secret, redact  # noqa: F401

from leoflow.secrets.masker import SENSITIVE_WORDS as DEFAULT_SENSITIVE_FIELDS  # noqa: E402,F401


def should_hide_value_for_key(name) -> bool:
    return is_sensitive(name)


class SecretsMasker:
    """The masker as an object (what `_secrets_masker()` returns in Airflow)."""

    def add_mask(self, secret, name: str | None = None) -> None:
        mask_secret(secret, name)

    def redact(self, item, name: str | None = None, max_depth: int | None = None):
        return redact(item, name)


def _secrets_masker() -> SecretsMasker:
    return SecretsMasker()
