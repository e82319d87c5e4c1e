"""Password hashes as Airflow's FAB auth manager stores them (`ab_user.password`), so a user imported from
Airflow logs in with the password they had there (ADR 23). Written from werkzeug's documented format for
`generate_password_hash`: `METHOD$SALT$HASH`, the salt a text whose UTF-8 bytes salt the key derivation, the
hash the derived key in lowercase hex:

- `pbkdf2:NAME:ITERATIONS` - PBKDF2-HMAC with hashlib's NAME, the key as long as NAME's digest;
- `scrypt:N:R:P` - scrypt with those costs, a 64-byte key.

Nothing else is accepted (werkzeug's pre-2.3 salted `sha256$...` and `plain$...` forms, a pbkdf2 without its
iteration count): `parse` says why, and `matches` is False. Costs are capped, so a planted hash cannot make
one login spend minutes or gigabytes.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

PBKDF2_DIGESTS = ("sha1", "sha224", "sha256", "sha384", "sha512")
MAX_PBKDF2_ITERATIONS = 5_000_000  # werkzeug 3's default is 600,000; old FAB installs have 150,000 or 260,000
MAX_SCRYPT_MEMORY = 256 * 1024 * 1024  # werkzeug's default (n=2**15, r=8) needs 32 MiB
SCRYPT_KEY_LENGTH = 64


class UnknownHash(ValueError):
    """The stored text is not a werkzeug hash this module can check."""


@dataclass(frozen=True)
class FabHash:
    kind: str  # "pbkdf2" or "scrypt"
    params: tuple  # (digest name, iterations) or (n, r, p)
    salt: bytes
    digest: bytes


def looks_like_fab_hash(stored: str) -> bool:
    """Written by werkzeug (Leoflow's own hashes are plain hex, which never holds a '$')."""
    return "$" in stored


def _int(text: str, what: str) -> int:
    if not text.isdigit():
        raise UnknownHash(f"the {what} {text!r} is not a positive whole number")
    return int(text)


def parse(stored: str) -> FabHash:
    parts = stored.split("$")
    if len(parts) != 3:
        raise UnknownHash("not METHOD$SALT$HASH")
    method, salt, hex_digest = parts
    if not salt:
        raise UnknownHash("the salt is empty")
    try:
        digest = bytes.fromhex(hex_digest)
    except ValueError:
        raise UnknownHash("the hash is not hexadecimal") from None
    if not digest:
        raise UnknownHash("the hash is empty")
    kind, _, rest = method.partition(":")
    fields = rest.split(":") if rest else []
    if kind == "pbkdf2":
        if len(fields) != 2:
            raise UnknownHash("pbkdf2 needs pbkdf2:DIGEST:ITERATIONS")
        name, iterations = fields[0], _int(fields[1], "iteration count")
        if name not in PBKDF2_DIGESTS:
            raise UnknownHash(f"pbkdf2 with {name!r} is not one of {', '.join(PBKDF2_DIGESTS)}")
        if not 1 <= iterations <= MAX_PBKDF2_ITERATIONS:
            raise UnknownHash(f"pbkdf2's iteration count {iterations} is not between 1 and {MAX_PBKDF2_ITERATIONS}")
        return FabHash("pbkdf2", (name, iterations), salt.encode(), digest)
    if kind == "scrypt":
        if len(fields) != 3:
            raise UnknownHash("scrypt needs scrypt:N:R:P")
        n, r, p = (_int(v, what) for v, what in zip(fields, ("cost N", "block size R", "parallelism P")))
        if n < 2 or n & (n - 1) or r < 1 or p < 1:
            raise UnknownHash("scrypt's N must be a power of two above 1, R and P at least 1")
        if 128 * n * r + 128 * r * p > MAX_SCRYPT_MEMORY:
            raise UnknownHash(f"scrypt's costs need more than {MAX_SCRYPT_MEMORY // 2**20} MiB")
        return FabHash("scrypt", (n, r, p), salt.encode(), digest)
    raise UnknownHash(f"the method {method!r} is neither pbkdf2:... nor scrypt:...")


def derive(h: FabHash, password: str) -> bytes:
    if h.kind == "pbkdf2":
        name, iterations = h.params
        return hashlib.pbkdf2_hmac(name, password.encode(), h.salt, iterations)
    n, r, p = h.params
    # maxmem above what the costs need: hashlib's default (32 MiB) refuses werkzeug's own default costs
    return hashlib.scrypt(password.encode(), salt=h.salt, n=n, r=r, p=p, dklen=SCRYPT_KEY_LENGTH,
                          maxmem=MAX_SCRYPT_MEMORY + 2**20)


def matches(stored: str, password: str) -> bool:
    """Whether `password` is the one `stored` was made from; False for a hash this module cannot check."""
    try:
        h = parse(stored)
    except UnknownHash:
        return False
    return hmac.compare_digest(derive(h, password), h.digest)
