"""Roles and what each may do: the role-based access matrix of the plant's people.

Roles, least to most trusted in their own area: ``viewer`` (reads), ``operator`` (runs the
plant), ``engineer`` (configures twins), ``qa`` (quality assurance: reviews and evaluates),
``admin`` (manages accounts). Only an engineer changes a twin's configuration (issue 5);
access is limited to authorised individuals as EU GMP Annex 11, section 12.1 and 21 CFR
11.10(d) and (g) require.
"""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["viewer", "operator", "engineer", "qa", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)

_ALL: frozenset[Role] = frozenset(ROLES)

ACTIONS: dict[str, frozenset[Role]] = {
    "view": _ALL,
    "acknowledge_alarm": frozenset({"operator", "engineer", "qa", "admin"}),
    "change_setpoint": frozenset({"operator", "engineer", "admin"}),
    "evaluate_whatif": frozenset({"operator", "engineer", "qa", "admin"}),
    "apply_action": frozenset({"operator", "engineer", "admin"}),
    "change_twin_config": frozenset({"engineer"}),
    "manage_users": frozenset({"admin"}),
}
"""Each action and the roles allowed to do it."""


class PermissionDenied(Exception):  # noqa: N818 (the name of the public API)
    """A role tried an action it is not allowed to do."""

    def __init__(self, role: str, action: str) -> None:
        super().__init__(f"role {role!r} may not {action!r}")
        self.role = role
        self.action = action


def allowed(role: str, action: str) -> bool:
    """Whether ``role`` may do ``action``; an unknown role may do nothing.

    Raises ``ValueError`` naming an unknown action (a typo must not silently deny or allow).
    """
    roles = ACTIONS.get(action)
    if roles is None:
        raise ValueError(f"action: unknown action {action!r}; one of {', '.join(ACTIONS)}")
    return role in roles


def require(role: str, action: str) -> None:
    """Raise ``PermissionDenied`` unless ``role`` may do ``action``."""
    if not allowed(role, action):
        raise PermissionDenied(role, action)
