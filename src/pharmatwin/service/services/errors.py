"""Errors of the service layer, each with its HTTP status."""

from __future__ import annotations


class ServiceError(Exception):
    """A request that cannot be served; ``status`` is the HTTP status to answer with."""

    status = 400


class NotFoundError(ServiceError):
    """An unknown asset, batch, tag or alarm."""

    status = 404


class UnavailableError(ServiceError):
    """The request needs something the service does not run (a live twin, plant control)."""

    status = 409


class BadInputError(ServiceError, ValueError):
    """Bad input found by the service layer; ``field`` is the (dotted) name of the field."""

    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
