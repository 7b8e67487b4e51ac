"""Bad input becomes one clear line on stderr naming the field, and exit code 2."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from pydantic import ValidationError

from pharmatwin.core.integrate import IntegrationError

BAD_INPUT_EXIT = 2
_FIELD_PREFIX = re.compile(r"^[A-Za-z_][\w.\-]*: ")


def describe(exc: Exception) -> str:
    """One line naming the field and the problem."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = "unknown field"
        if where and _FIELD_PREFIX.match(message):
            return f"{where}.{message}"  # a validator named a field deeper down
        return f"{where}: {message}" if where else message
    if isinstance(exc, KeyError) and exc.args:
        return str(exc.args[0])
    return str(exc)


def fail(message: str) -> NoReturn:
    """Print ``error: message`` to stderr and exit with code 2."""
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(BAD_INPUT_EXIT)


@contextmanager
def bad_input(context: str = "") -> Iterator[None]:
    """Turn validation and value errors raised inside the block into ``fail``."""
    try:
        yield
    except (ValidationError, ValueError, KeyError, IntegrationError) as exc:
        prefix = f"{context}: " if context else ""
        fail(prefix + describe(exc))
