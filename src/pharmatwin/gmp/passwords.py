"""Password hashing (scrypt) and the password policy.

Hashes use scrypt (RFC 7914) with N = 2**14, r = 8, p = 1, a 16-byte random salt and a 64-byte
key, encoded as ``scrypt$N$r$p$<salt base64>$<key base64>``; the parameters are read back from
each stored hash, so a stronger setting later does not break stored ones. N = 2**14, r = 8,
p = 1 is the interactive-login setting of Percival's scrypt paper, on which RFC 7914 rests
(about 50 ms and 16 MiB per check). OWASP's Password Storage Cheat Sheet recommends at least
N = 2**17, r = 8, p = 1 (128 MiB): raise ``N`` where the servers allow it. Keys are compared in
constant time (``hmac.compare_digest``).

Policy (EU GMP Annex 11, section 12.1; 21 CFR 11.300): at least 12 characters, not equal to the
user name (case ignored), and at least 3 of the 4 character classes lower case, upper case,
digit and other (punctuation, space, symbols; letters without case count as other).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from pharmatwin.gmp.errors import UserError

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 64
MIN_LENGTH = 12
MIN_CLASSES = 3
_MAX_N = 2**20  # refuse stored parameters that would take seconds and a GiB to check


class PasswordError(UserError):
    """A password breaks the policy (the message starts with ``password:``)."""


@dataclass(frozen=True)
class ScryptParams:
    """The parameters read back from an encoded hash."""

    n: int
    r: int
    p: int
    salt: bytes
    key: bytes


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(password: str, salt: bytes, n: int, r: int, p: int, *, length: int) -> bytes:
    memory = 128 * r * (n + p + 2)  # bytes scrypt needs: 128 r N for V, plus B and XY
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=memory + 2**20, dklen=length
    )


def hash_password(password: str) -> str:
    """The encoded scrypt hash of ``password`` with a fresh random salt."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = _derive(password, salt, N, R, P, length=KEY_BYTES)
    return f"{SCHEME}${N}${R}${P}${_b64(salt)}${_b64(key)}"


def parse_hash(encoded: str) -> ScryptParams:
    """The parameters, salt and key of an encoded hash; ``ValueError`` if it is not one."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        raise ValueError("password_hash: not a scrypt$N$r$p$salt$key string")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt = base64.b64decode(parts[4], validate=True)
        key = base64.b64decode(parts[5], validate=True)
    except ValueError as exc:
        raise ValueError(f"password_hash: malformed ({exc})") from None
    if not (1 < n <= _MAX_N and n & (n - 1) == 0 and r >= 1 and p >= 1 and salt and key):
        raise ValueError(f"password_hash: bad scrypt parameters N={n}, r={r}, p={p}")
    return ScryptParams(n, r, p, salt, key)


def verify_password(password: str, encoded: str) -> bool:
    """Whether ``password`` matches the encoded hash (constant-time comparison)."""
    params = parse_hash(encoded)
    key = _derive(password, params.salt, params.n, params.r, params.p, length=len(params.key))
    return hmac.compare_digest(key, params.key)


def character_classes(password: str) -> int:
    """How many of lower case, upper case, digit and other the password uses."""
    lower = any(c.islower() for c in password)
    upper = any(c.isupper() for c in password)
    digit = any(c.isdigit() for c in password)
    other = any(not (c.islower() or c.isupper() or c.isdigit()) for c in password)
    return lower + upper + digit + other


def check_policy(name: str, password: str) -> None:
    """Raise ``PasswordError`` naming the rule that ``password`` breaks (see the module)."""
    if len(password) < MIN_LENGTH:
        raise PasswordError(
            f"password: must have at least {MIN_LENGTH} characters, got {len(password)}"
        )
    if password.casefold() == name.casefold():
        raise PasswordError("password: must not be the user name")
    if character_classes(password) < MIN_CLASSES:
        raise PasswordError(
            f"password: must use at least {MIN_CLASSES} of lower case, upper case, digits and "
            "other characters"
        )
