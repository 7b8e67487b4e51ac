"""Roles and what each may do: the role-based access matrix of the plant's people.

Roles, least to most trusted in their own area: ``viewer`` (reads), ``operator`` (runs the
plant), ``engineer`` (configures twins), ``qa`` (quality assurance: reviews, approves and
releases), ``admin`` (manages accounts). Access is limited to authorised individuals, and the
authority to sign, approve, change or export a record is checked for each action (21 CFR
11.10(d) and (g); EU GMP Annex 11, section 12.1).

=====================  ======  ========  ========  ==  =====  ===============================
action                 viewer  operator  engineer  qa  admin  what it covers
=====================  ======  ========  ========  ==  =====  ===============================
view                   x       x         x         x   x      read assets, history, batch
                                                               records (HTML), signatures,
                                                               versions
acknowledge_alarm              x         x         x   x      acknowledge an alarm
change_setpoint                x         x             x      change a setpoint on the plant
evaluate_whatif                x         x         x   x      evaluate a corrective action
apply_action                   x         x             x      carry out an action on the plant
change_twin_config                       x                    change a twin's configuration
manage_users                                           x      accounts and roles
view_audit                                         x   x      read and verify the audit trail
export_records                           x         x   x      batch record PDF, audit exports
                                                               (audit exports also need
                                                               view_audit)
sign_record                    x         x         x   x      sign "authored" or "reviewed"
approve_record                                     x          sign "approved" or "released"
propose_version                          x                    propose a new version of a twin
                                                               configuration or a recipe
approve_version                                    x          approve a version (e-signature)
record_genealogy               x         x                    record materials, lots, steps
trace_genealogy        x       x         x         x   x      trace lots, scope a recall
=====================  ======  ========  ========  ==  =====  ===============================

Only an engineer changes a twin's configuration or proposes a version (issue 5), and only QA
approves (issue 8): the person who proposes a version or authors a record cannot also approve
it (enforced by ``pharmatwin.gmp.signatures``; a second person is needed).
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
    "view_audit": frozenset({"qa", "admin"}),
    "export_records": frozenset({"engineer", "qa", "admin"}),
    "sign_record": frozenset({"operator", "engineer", "qa", "admin"}),
    "approve_record": frozenset({"qa"}),
    "propose_version": frozenset({"engineer"}),
    "approve_version": frozenset({"qa"}),
    "record_genealogy": frozenset({"operator", "engineer"}),
    "trace_genealogy": _ALL,
}
"""Each action and the roles allowed to do it (the table in the module docstring)."""


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
