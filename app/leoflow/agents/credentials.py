"""Secrets and names of agents. Only sha256 hashes of tokens are stored: a token is 32 random bytes, so
a hash cannot be reversed and a database dump enrolls or impersonates nobody."""

from __future__ import annotations

import hashlib
import re
import secrets

ENROLLMENT_PREFIX = "lfe_"
CREDENTIAL_PREFIX = "lfa_"
MAX_TOKEN_LENGTH = 200
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")
QUEUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
MAX_QUEUES = 32


def new_enrollment_token() -> str:
    return ENROLLMENT_PREFIX + secrets.token_urlsafe(32)


def new_credential() -> str:
    return CREDENTIAL_PREFIX + secrets.token_urlsafe(32)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def name_problem(name) -> str | None:
    if not isinstance(name, str) or not NAME.match(name):
        return ("an agent name is 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit, got "
                f"{str(name)[:80]!r}")
    return None


def enrollment_name_problem(name) -> str | None:
    """An enrollment names one agent, or a fleet by a prefix ending in `*` (`workers-*`)."""
    if isinstance(name, str) and name.endswith("*"):
        prefix = name[:-1]
        return None if prefix and NAME.match(prefix) else f"{name[:80]!r} is not a name prefix followed by '*'"
    return name_problem(name)


def enrolled_name(enrolled: str, asked: str | None) -> str | None:
    """The name an agent registers under: the enrolled one, or (a fleet's token) its own name under the
    prefix. None when the two do not fit."""
    if enrolled.endswith("*"):
        prefix = enrolled[:-1]
        return asked if asked and asked.startswith(prefix) and not name_problem(asked) else None
    return enrolled if asked in (None, enrolled) else None


def parse_queues(value) -> tuple[list[str], str | None]:
    """A comma string or a list of queue names -> (names in order, each once; a problem or None)."""
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list):
        return [], "queues must be a comma-separated string or a list of strings"
    queues: list[str] = []
    for item in items:
        item = item.strip() if isinstance(item, str) else item
        if item == "":
            continue
        if not isinstance(item, str) or not QUEUE.match(item):
            return [], f"{str(item)[:80]!r} is not a queue name (letters, digits, '.', '_', ':' or '-')"
        if item not in queues:
            queues.append(item)
    if len(queues) > MAX_QUEUES:
        return [], f"at most {MAX_QUEUES} queues"
    return queues, None


def _minor(version: str) -> tuple[int, int] | None:
    match = re.match(r"^(\d+)\.(\d+)", str(version))
    return (int(match.group(1)), int(match.group(2))) if match else None


def version_problem(agent_version, server_version: str) -> str | None:
    """An agent one minor version older or newer than the server works; further apart is refused."""
    mine, theirs = _minor(server_version), _minor(agent_version)
    if theirs is None:
        return f"the agent's version {str(agent_version)[:50]!r} is not a version number"
    if mine is None or (theirs[0] == mine[0] and abs(theirs[1] - mine[1]) <= 1):
        return None
    return (f"agent version {agent_version} is outside the window of server version {server_version} "
            "(one minor version older or newer works): upgrade the agent")
