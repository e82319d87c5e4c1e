"""`airflow.utils.strings`: small string helpers hooks import."""

from __future__ import annotations

import random
import string


def get_random_string(length: int = 8, choices: str = string.ascii_letters + string.digits) -> str:
    return "".join(random.SystemRandom().choice(choices) for _ in range(length))


def to_boolean(astring: str | bool | None) -> bool:
    """`true`/`t`/`y`/`yes`/`1` (any case) -> True, anything else False."""
    if astring is None:
        return False
    if isinstance(astring, bool):
        return astring
    return astring.lower() in ("true", "t", "y", "yes", "1")
