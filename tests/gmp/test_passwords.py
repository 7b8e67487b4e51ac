"""scrypt hashing and the password policy."""

from __future__ import annotations

import base64

import pytest

from pharmatwin.gmp.errors import UserError
from pharmatwin.gmp.passwords import (
    KEY_BYTES,
    SALT_BYTES,
    PasswordError,
    check_policy,
    hash_password,
    parse_hash,
    verify_password,
)

PASSWORD = "Correct-Horse-7"


@pytest.fixture(scope="module")
def encoded() -> str:
    return hash_password(PASSWORD)


def test_the_right_password_verifies(encoded: str) -> None:
    assert verify_password(PASSWORD, encoded)


@pytest.mark.parametrize("wrong", ["", "correct-horse-7", "Correct-Horse-7 ", "Correct-Horse-8"])
def test_a_wrong_password_fails(encoded: str, wrong: str) -> None:
    assert not verify_password(wrong, encoded)


def test_two_hashes_of_one_password_differ(encoded: str) -> None:
    other = hash_password(PASSWORD)
    assert other != encoded
    assert parse_hash(other).salt != parse_hash(encoded).salt
    assert verify_password(PASSWORD, other)


def test_the_encoded_parameters_are_read_back(encoded: str) -> None:
    scheme, n, r, p, salt, key = encoded.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16384", "8", "1")
    params = parse_hash(encoded)
    assert (params.n, params.r, params.p) == (2**14, 8, 1)
    assert params.salt == base64.b64decode(salt) and len(params.salt) == SALT_BYTES
    assert params.key == base64.b64decode(key) and len(params.key) == KEY_BYTES


def test_a_hash_with_other_parameters_still_verifies() -> None:
    import hashlib

    salt = b"0123456789abcdef"
    key = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2**10, r=4, p=2, dklen=32)
    encoded = f"scrypt$1024$4$2${base64.b64encode(salt).decode()}${base64.b64encode(key).decode()}"
    assert verify_password(PASSWORD, encoded)
    assert not verify_password(PASSWORD + "x", encoded)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "bcrypt$1$2$3$4$5",
        "scrypt$16384$8$1$salt",
        "scrypt$1000$8$1$AAAA$AAAA",
        "scrypt$x$8$1$A$A",
    ],
)
def test_a_malformed_hash_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="password_hash"):
        verify_password(PASSWORD, bad)


@pytest.mark.parametrize(
    ("name", "password", "problem"),
    [
        ("alice", "Short-1a", "at least 12 characters, got 8"),
        ("Alice.Smith-12", "alice.smith-12", "must not be the user name"),
        ("alice", "alllowercaseletters", "at least 3 of"),
        ("alice", "lowercase and spaces", "at least 3 of"),
        ("alice", "UPPER-AND-SYMBOLS", "at least 3 of"),
        ("alice", "123456789012", "at least 3 of"),
    ],
)
def test_the_policy_names_the_field_and_the_rule(name: str, password: str, problem: str) -> None:
    with pytest.raises(PasswordError, match=problem) as caught:
        check_policy(name, password)
    assert str(caught.value).startswith("password: ")
    assert isinstance(caught.value, UserError) and isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "password", ["Correct-Horse-7", "lower UPPER words", "digits 1234 and more", "ÄÖÜäöü123456"]
)
def test_passwords_within_the_policy_pass(password: str) -> None:
    check_policy("alice", password)
